using Prelu;
using StbImageSharp;

namespace Classifier;

/// <summary>The images the samples classify; the Predictor sample compiles this file too.</summary>
public static class SampleImages
{
    /// <summary>A PNG (one 28x28 grey image) or an IDX image file (every image in it), as float32 pixels in [0, 1].</summary>
    public static IEnumerable<(string Label, float[] Pixels)> Read(string path)
    {
        if (path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            using var stream = File.OpenRead(path);
            var image = ImageResult.FromStream(stream, StbImageSharp.ColorComponents.Grey);
            if (image.Width != 28 || image.Height != 28)
                throw new ArgumentException($"{path}: the image is {image.Width}x{image.Height}; the models take 28x28 grey digits");
            yield return (path, image.Data.Select(b => b / 255f).ToArray());
            yield break;
        }
        var idx = IdxReader.Read(path);
        if (idx.Dimensions.Count != 3 || idx.Dimensions[1] != 28 || idx.Dimensions[2] != 28)
            throw new ArgumentException($"{path}: dimensions [{string.Join(", ", idx.Dimensions)}]; expected (images, 28, 28)");
        for (int i = 0; i < idx.Dimensions[0]; i++)
            yield return ($"{path}#{i}", idx.Data.AsSpan(i * 784, 784).ToArray().Select(b => b / 255f).ToArray());
    }
}

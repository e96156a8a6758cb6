using Prelu.Mnist.Models;
using Prelu.Native.Backends;
using StbImageSharp;

namespace Prelu.Mnist;

/// <summary>
/// `prelu-mnist predict --checkpoint FILE IMAGE...`: classifies 28x28 grey PNGs, or every image of IDX image
/// files, with a checkpoint the study wrote (its "model" says which of the study's models it is). One line per
/// image: the image, the class, its probability.
/// </summary>
public static class Predict
{
    public const int Batch = 250;

    public static int Run(string checkpoint, IReadOnlyList<string> images, string backendName, TextWriter output)
    {
        using var backend = BackendChoice.Create(backendName, threads: 0);
        using var model = Load(checkpoint, backend, Batch);
        var probabilities = new float[model.OutputLength];
        foreach (var (label, pixels) in images.SelectMany(Read))
        {
            model.Predict(pixels, probabilities);
            int best = ArgMax(probabilities);
            output.WriteLine(FormattableString.Invariant($"{label}: {best} ({probabilities[best]:F4})"));
        }
        return 0;
    }

    /// <summary>The study's model a checkpoint holds (its "model" metadata says which), with the checkpoint's weights.</summary>
    public static CompiledModel Load(string checkpoint, Prelu.Kernels.Backend backend, int batch)
    {
        var (_, metadata) = SafeTensors.ReadWithMetadata(checkpoint);
        string modelName = metadata.GetValueOrDefault("model", "");
        var run = StudyRuns.ForModel(modelName) ?? throw new CheckpointMismatchException(checkpoint, "__metadata__.model",
            $"is '{modelName}', not one of the study's models ({string.Join(", ", StudyRuns.All.Select(r => r.ModelName))})");
        var model = run.Create(backend, batch);
        try
        {
            Checkpoint.Load(checkpoint, model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// `prelu-mnist export --checkpoint FILE --onnx FILE`: the checkpoint's model, with its weights, as an ONNX file that
    /// ONNX Runtime runs (input (batch, 28, 28, 1) pixels in [0, 1], output the class probabilities).
    /// </summary>
    public static int Export(string checkpoint, string onnx, TextWriter output)
    {
        using var backend = new Prelu.Backends.ManagedBackend();
        using var model = Load(checkpoint, backend, 1);
        OnnxExport.Save(model, onnx);
        output.WriteLine($"{model.Name} from {checkpoint}: {model.ParameterCount:N0} parameters written to {Path.GetFullPath(onnx)} (ONNX, opset {OnnxExport.Opset})");
        return 0;
    }

    /// <summary>A PNG (one 28x28 image, made grey) or an IDX image file (every image), as float32 pixels in [0, 1] as the study trained on.</summary>
    public static IEnumerable<(string Label, float[] Pixels)> Read(string path)
    {
        if (path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            ImageResult image;
            using (var stream = File.OpenRead(path))
                image = ImageResult.FromStream(stream, ColorComponents.Grey);
            if (image.Width != 28 || image.Height != 28)
                throw new ArgumentException($"{path}: the image is {image.Width}x{image.Height}; the study's models take 28x28 grey digits");
            yield return (path, Array.ConvertAll(image.Data, b => b / 255f));
            yield break;
        }
        var idx = IdxReader.Read(path);
        if (idx.Dimensions.Count != 3 || idx.Dimensions[1] != 28 || idx.Dimensions[2] != 28)
            throw new IdxFormatException(path, "dimensions", $"[{string.Join(", ", idx.Dimensions)}]; expected (images, 28, 28)");
        for (int i = 0; i < idx.Dimensions[0]; i++)
            yield return ($"{path}#{i}", Array.ConvertAll(idx.Data[(i * 784)..((i + 1) * 784)], b => b / 255f));
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int k = 1; k < values.Length; k++)
            best = values[k] > values[best] ? k : best;
        return best;
    }
}

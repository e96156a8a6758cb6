using Prelu.Reference;

namespace Prelu;

/// <summary>
/// Moving training images by a few pixels (FitOptions.Shift): Keras's width and height shift ranges with a
/// constant zero fill. The draw for an image is a hash of (seed, epoch, the image's index in the training set),
/// like the dropout masks, so that a resumed run moves every image as the run never stopped would.
/// </summary>
internal static class ImageShift
{
    // A stream of its own: the fit seed also orders the shuffles.
    private const ulong Stream = 0x5348494654; // "SHIFT"

    /// <summary>The move of image <paramref name="image"/> in <paramref name="epoch"/>: each of dy, dx uniform in [-range, range].</summary>
    public static (int Dy, int Dx) Draw(ulong seed, int epoch, int image, int range)
    {
        uint hash = DropoutRandom.Base(seed ^ Stream, (ulong)epoch);
        int span = 2 * range + 1;
        int dy = Math.Min((int)(DropoutRandom.Uniform(hash, (uint)(2 * image)) * span), span - 1) - range;
        int dx = Math.Min((int)(DropoutRandom.Uniform(hash, (uint)(2 * image + 1)) * span), span - 1) - range;
        return (dy, dx);
    }

    /// <summary>image (H, W, C) moved down by dy and right by dx, in place; zeros where nothing moves in. scratch holds H x W x C floats.</summary>
    public static void Apply(Span<float> image, int height, int width, int channels, int dy, int dx, Span<float> scratch)
    {
        image.CopyTo(scratch);
        image.Clear();
        int row = width * channels;
        for (int y = Math.Max(0, dy); y < Math.Min(height, height + dy); y++)
        {
            int x0 = Math.Max(0, dx), x1 = Math.Min(width, width + dx);
            scratch.Slice((y - dy) * row + (x0 - dx) * channels, (x1 - x0) * channels).CopyTo(image.Slice(y * row + x0 * channels));
        }
    }
}

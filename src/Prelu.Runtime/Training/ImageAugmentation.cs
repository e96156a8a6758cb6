using Prelu.Reference;

namespace Prelu;

/// <summary>
/// How one training image moves in one epoch: shifted down by <see cref="Dy"/> and right by <see cref="Dx"/> pixels,
/// turned by <see cref="Degrees"/> (counterclockwise) and enlarged by <see cref="Scale"/> about its centre.
/// </summary>
internal readonly record struct ImageMove(int Dy, int Dx, float Degrees = 0, float Scale = 1)
{
    /// <summary>No turn and no zoom: every pixel lands on a pixel, so the move is a copy, not an interpolation.</summary>
    public bool IsShiftOnly => Degrees == 0 && Scale == 1;
}

/// <summary>
/// Training images augmented as Keras's ImageDataGenerator does with <c>width_shift_range</c> and
/// <c>height_shift_range</c> in pixels, <c>rotation_range</c> in degrees and <c>zoom_range</c> (FitOptions.Shift,
/// Rotation, Zoom), with a constant zero fill. The draw for an image is a hash of (seed, epoch, the image's index in
/// the training set), like the dropout masks, so that a resumed run moves every image as the run never stopped would;
/// each transform draws from a stream of its own, so that adding a turn leaves the shifts of a run as they were.
/// </summary>
internal static class ImageAugmentation
{
    // Streams of their own: the fit seed also orders the shuffles.
    private const ulong ShiftStream = 0x5348494654; // "SHIFT"
    private const ulong RotationStream = 0x524F54415445; // "ROTATE"
    private const ulong ZoomStream = 0x5A4F4F4D; // "ZOOM"

    /// <summary>
    /// The move of image <paramref name="image"/> in <paramref name="epoch"/>: each of dy, dx uniform in [-shift, shift]
    /// (integers), the turn uniform in [-rotation, rotation] degrees, the scale uniform in [1 - zoom, 1 + zoom].
    /// </summary>
    public static ImageMove Draw(ulong seed, int epoch, int image, int shift, float rotation = 0, float zoom = 0)
    {
        uint hash = DropoutRandom.Base(seed ^ ShiftStream, (ulong)epoch);
        int span = 2 * shift + 1;
        int dy = Math.Min((int)(DropoutRandom.Uniform(hash, (uint)(2 * image)) * span), span - 1) - shift;
        int dx = Math.Min((int)(DropoutRandom.Uniform(hash, (uint)(2 * image + 1)) * span), span - 1) - shift;
        float degrees = rotation == 0 ? 0 : rotation * (2 * DropoutRandom.Uniform(seed ^ RotationStream, (ulong)epoch, (ulong)image) - 1);
        float scale = zoom == 0 ? 1 : 1 + zoom * (2 * DropoutRandom.Uniform(seed ^ ZoomStream, (ulong)epoch, (ulong)image) - 1);
        return new ImageMove(dy, dx, degrees, scale);
    }

    /// <summary>image (H, W, C) moved as <paramref name="move"/> says, in place; zeros where nothing moves in. scratch holds H x W x C floats.</summary>
    public static void Apply(Span<float> image, int height, int width, int channels, ImageMove move, Span<float> scratch)
    {
        image.CopyTo(scratch);
        image.Clear();
        if (move.IsShiftOnly)
            Shift(image, height, width, channels, move.Dy, move.Dx, scratch);
        else
            Transform(image, height, width, channels, move, scratch);
    }

    // Whole rows copied: every pixel lands on a pixel.
    private static void Shift(Span<float> image, int height, int width, int channels, int dy, int dx, ReadOnlySpan<float> source)
    {
        int row = width * channels;
        for (int y = Math.Max(0, dy); y < Math.Min(height, height + dy); y++)
        {
            int x0 = Math.Max(0, dx), x1 = Math.Min(width, width + dx);
            source.Slice((y - dy) * row + (x0 - dx) * channels, (x1 - x0) * channels).CopyTo(image.Slice(y * row + x0 * channels));
        }
    }

    // Each output pixel reads the source where the inverse move takes it, interpolated bilinearly between the four
    // pixels around that point; a neighbour outside the image counts as zero. The turn and zoom are about the
    // image's centre, after which the shift applies.
    private static void Transform(Span<float> image, int height, int width, int channels, ImageMove move, ReadOnlySpan<float> source)
    {
        double radians = move.Degrees * Math.PI / 180;
        float cos = (float)(Math.Cos(radians) / move.Scale), sin = (float)(Math.Sin(radians) / move.Scale);
        float cy = (height - 1) * 0.5f, cx = (width - 1) * 0.5f;
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            float u = y - move.Dy - cy, v = x - move.Dx - cx;
            // The inverse of the zoom and of a turn counterclockwise as the image is seen (rows grow downwards): at 90
            // degrees, output (y, x) reads source (x, W - 1 - y), so the top right corner comes to the top left.
            float sy = cy + cos * u + sin * v, sx = cx - sin * u + cos * v;
            float fy = MathF.Floor(sy), fx = MathF.Floor(sx);
            if (fy < -1 || fy >= height || fx < -1 || fx >= width)
                continue;
            int y0 = (int)fy, x0 = (int)fx;
            float wy = sy - fy, wx = sx - fx;
            var output = image.Slice((y * width + x) * channels, channels);
            Add(output, source, height, width, channels, y0, x0, (1 - wy) * (1 - wx));
            Add(output, source, height, width, channels, y0, x0 + 1, (1 - wy) * wx);
            Add(output, source, height, width, channels, y0 + 1, x0, wy * (1 - wx));
            Add(output, source, height, width, channels, y0 + 1, x0 + 1, wy * wx);
        }
    }

    private static void Add(Span<float> output, ReadOnlySpan<float> source, int height, int width, int channels, int y, int x, float weight)
    {
        if (y < 0 || y >= height || x < 0 || x >= width || weight == 0)
            return;
        var pixel = source.Slice((y * width + x) * channels, channels);
        for (int c = 0; c < channels; c++)
            output[c] += weight * pixel[c];
    }
}

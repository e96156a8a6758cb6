
namespace Prelu.Runtime.Tests.Training;

/// <summary>FitOptions.Shift, Rotation and Zoom: where pixels go, what fills in, and how the moves are drawn.</summary>
public sealed class ImageAugmentationTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(-1, -2)]
    [InlineData(0, 2)]
    [InlineData(-2, 0)]
    public void A_pixel_moves_by_the_shift_and_zeros_fill_what_comes_in(int dy, int dx)
    {
        const int height = 5, width = 4, channels = 2;
        var image = Numbered(height * width * channels);
        var moved = (float[])image.Clone();

        ImageAugmentation.Apply(moved, height, width, channels, new ImageMove(dy, dx), new float[image.Length]);

        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        for (int c = 0; c < channels; c++)
        {
            int from = y - dy, fromX = x - dx;
            float expected = from >= 0 && from < height && fromX >= 0 && fromX < width ? image[(from * width + fromX) * channels + c] : 0f;
            Assert.Equal(expected, moved[(y * width + x) * channels + c]);
        }
    }

    [Fact]
    public void A_quarter_turn_is_counterclockwise_and_moves_every_pixel_whole()
    {
        const int size = 5, channels = 2;
        var image = Numbered(size * size * channels);
        var turned = (float[])image.Clone();

        ImageAugmentation.Apply(turned, size, size, channels, new ImageMove(0, 0, Degrees: 90), new float[image.Length]);

        // Output (y, x) is source (x, size - 1 - y): the top right corner comes to the top left.
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        for (int c = 0; c < channels; c++)
            Assert.Equal(image[(x * size + size - 1 - y) * channels + c], turned[(y * size + x) * channels + c], 1e-4f);
    }

    [Fact]
    public void A_turn_keeps_the_centre_and_fills_the_corners_with_zeros()
    {
        const int size = 9;
        var ones = Enumerable.Repeat(1f, size * size).ToArray();

        ImageAugmentation.Apply(ones, size, size, 1, new ImageMove(0, 0, Degrees: 45), new float[ones.Length]);

        Assert.Equal(1f, ones[4 * size + 4], 1e-6f); // the centre, and what stays inside, keeps its value
        Assert.Equal(1f, ones[4 * size + 1], 1e-6f);
        Assert.Equal(0f, ones[0]); // a corner turned 45 degrees reads from outside the image
        Assert.Equal(0f, ones[size * size - 1]);
    }

    [Fact]
    public void A_zoom_scales_about_the_centre_and_interpolates_bilinearly()
    {
        const int size = 6;
        // A ramp, which bilinear interpolation reproduces exactly between pixels.
        var ramp = new float[size * size];
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            ramp[y * size + x] = 10 * y + x;
        var zoomed = (float[])ramp.Clone();

        ImageAugmentation.Apply(zoomed, size, size, 1, new ImageMove(1, -1, Scale: 2), new float[ramp.Length]);

        // Enlarged twice about the centre (2.5, 2.5), then moved down 1 and left 1: output (y, x) reads the source at
        // 2.5 + (y - 1 - 2.5) / 2, 2.5 + (x + 1 - 2.5) / 2.
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            float sy = 2.5f + (y - 3.5f) / 2, sx = 2.5f + (x - 1.5f) / 2;
            Assert.Equal(10 * sy + sx, zoomed[y * size + x], 1e-4f);
        }

        // Shrunk to half, the border reads from outside: zeros weigh in, and far enough out only zeros.
        var shrunk = (float[])ramp.Clone();
        ImageAugmentation.Apply(shrunk, size, size, 1, new ImageMove(0, 0, Scale: 0.5f), new float[ramp.Length]);
        Assert.Equal(0f, shrunk[0]);
        Assert.Equal(10 * 1.5f + 1.5f, shrunk[2 * size + 2], 1e-4f); // reads (1.5, 1.5), inside
        Assert.Equal(Interpolated(ramp, size, -0.5f, 3.5f), shrunk[size + 3], 1e-4f); // reads (-0.5, 3.5): half outside
        Assert.NotEqual(0f, shrunk[size + 3]);
    }

    [Fact]
    public void Draws_cover_the_range_follow_seed_epoch_and_image_and_stay_inside_it()
    {
        var draws = Enumerable.Range(0, 2000).Select(image => ImageAugmentation.Draw(7, 3, image, 2)).ToList();

        Assert.All(draws, d => Assert.InRange(d.Dy, -2, 2));
        Assert.All(draws, d => Assert.InRange(d.Dx, -2, 2));
        Assert.All(draws, d => Assert.True(d.IsShiftOnly));
        Assert.Equal(5, draws.Select(d => d.Dy).Distinct().Count());
        Assert.Equal(5, draws.Select(d => d.Dx).Distinct().Count());
        Assert.Equal(draws, Enumerable.Range(0, 2000).Select(image => ImageAugmentation.Draw(7, 3, image, 2)));
        Assert.NotEqual(draws, Enumerable.Range(0, 2000).Select(image => ImageAugmentation.Draw(7, 4, image, 2)));
        Assert.NotEqual(draws, Enumerable.Range(0, 2000).Select(image => ImageAugmentation.Draw(8, 3, image, 2)));

        var turns = Enumerable.Range(0, 2000).Select(image => ImageAugmentation.Draw(7, 3, image, 2, rotation: 10, zoom: 0.1f)).ToList();
        // A turn and a zoom draw from streams of their own: the shifts stay those of a run without them.
        Assert.Equal(draws.Select(d => (d.Dy, d.Dx)), turns.Select(d => (d.Dy, d.Dx)));
        Assert.All(turns, d => Assert.InRange(d.Degrees, -10f, 10f));
        Assert.All(turns, d => Assert.InRange(d.Scale, 0.9f, 1.1f));
        Assert.True(turns.Min(d => d.Degrees) < -9.9f && turns.Max(d => d.Degrees) > 9.9f);
        Assert.True(turns.Min(d => d.Scale) < 0.901f && turns.Max(d => d.Scale) > 1.099f);
        // The angle and the scale of one image are not one draw read twice.
        Assert.InRange(Correlation(turns.Select(d => (double)d.Degrees), turns.Select(d => (double)d.Scale)), -0.1, 0.1);
    }

    private static float[] Numbered(int length) => Enumerable.Range(1, length).Select(i => (float)i).ToArray(); // none zero

    // The ramp at (y, x), bilinear between its pixels, zero outside.
    private static float Interpolated(float[] image, int size, float y, float x)
    {
        float Pixel(int py, int px) => py >= 0 && py < size && px >= 0 && px < size ? image[py * size + px] : 0f;
        int y0 = (int)MathF.Floor(y), x0 = (int)MathF.Floor(x);
        float wy = y - y0, wx = x - x0;
        return (1 - wy) * ((1 - wx) * Pixel(y0, x0) + wx * Pixel(y0, x0 + 1)) + wy * ((1 - wx) * Pixel(y0 + 1, x0) + wx * Pixel(y0 + 1, x0 + 1));
    }

    private static double Correlation(IEnumerable<double> a, IEnumerable<double> b)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        double mx = x.Average(), my = y.Average();
        double sxy = x.Zip(y, (p, q) => (p - mx) * (q - my)).Sum();
        return sxy / Math.Sqrt(x.Sum(p => (p - mx) * (p - mx)) * y.Sum(q => (q - my) * (q - my)));
    }
}


namespace Prelu.Runtime.Tests.Training;

/// <summary>The image shift of FitOptions.Shift: where pixels go, what fills in, and how the moves are drawn.</summary>
public sealed class ImageShiftTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(-1, -2)]
    [InlineData(0, 2)]
    [InlineData(-2, 0)]
    public void A_pixel_moves_by_the_shift_and_zeros_fill_what_comes_in(int dy, int dx)
    {
        const int height = 5, width = 4, channels = 2;
        var image = new float[height * width * channels];
        for (int i = 0; i < image.Length; i++)
            image[i] = i + 1; // every pixel its own value, none zero
        var moved = (float[])image.Clone();

        ImageShift.Apply(moved, height, width, channels, dy, dx, new float[image.Length]);

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
    public void Draws_cover_the_range_follow_seed_epoch_and_image_and_stay_inside_it()
    {
        var draws = Enumerable.Range(0, 2000).Select(image => ImageShift.Draw(7, 3, image, 2)).ToList();

        Assert.All(draws, d => Assert.InRange(d.Dy, -2, 2));
        Assert.All(draws, d => Assert.InRange(d.Dx, -2, 2));
        Assert.Equal(5, draws.Select(d => d.Dy).Distinct().Count());
        Assert.Equal(5, draws.Select(d => d.Dx).Distinct().Count());
        Assert.Equal(draws, Enumerable.Range(0, 2000).Select(image => ImageShift.Draw(7, 3, image, 2)));
        Assert.NotEqual(draws, Enumerable.Range(0, 2000).Select(image => ImageShift.Draw(7, 4, image, 2)));
        Assert.NotEqual(draws, Enumerable.Range(0, 2000).Select(image => ImageShift.Draw(8, 3, image, 2)));
    }
}

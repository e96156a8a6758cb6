using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Data;

/// <summary>Keras's preparation: float32 / 255, one-hot labels, validation_split from the end.</summary>
public sealed class LabeledImagesTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(784 * 3 + 5)]
    public void Pixels_are_divided_by_255_in_float32_exactly_at_every_length(int length)
    {
        var raw = IdxTestFiles.Pattern(length);
        var scaled = new float[length];

        LabeledImages.ScaleToUnitInterval(raw, scaled);

        for (int i = 0; i < length; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(raw[i] / 255f), BitConverter.SingleToInt32Bits(scaled[i]));
    }

    [Fact]
    public void Every_byte_value_maps_into_the_unit_interval()
    {
        var raw = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var scaled = new float[256];

        LabeledImages.ScaleToUnitInterval(raw, scaled);

        Assert.Equal(0f, scaled[0]);
        Assert.Equal(1f, scaled[255]);
        Assert.All(scaled, value => Assert.InRange(value, 0f, 1f));
    }

    [Fact]
    public void One_hot_labels_have_a_single_one_at_the_class()
    {
        var set = Images(labels: [3, 0, 9]);

        var oneHot = set.OneHotLabels();

        Assert.Equal(30, oneHot.Length);
        Assert.Equal(1f, oneHot[3]);
        Assert.Equal(1f, oneHot[10]);
        Assert.Equal(1f, oneHot[29]);
        Assert.Equal(3f, oneHot.Sum());
    }

    [Fact]
    public void A_gathered_batch_holds_the_chosen_images_prepared()
    {
        var set = Images(labels: [3, 0, 9, 4]);
        var pixels = new float[2 * set.PixelsPerImage];
        var oneHot = new float[2 * 10];

        set.GatherBatch([2, 0], pixels, oneHot);

        var all = set.PixelsAsFloat32();
        Assert.Equal(all.AsSpan(2 * set.PixelsPerImage, set.PixelsPerImage).ToArray(), pixels[..set.PixelsPerImage]);
        Assert.Equal(all.AsSpan(0, set.PixelsPerImage).ToArray(), pixels[set.PixelsPerImage..]);
        Assert.Equal(1f, oneHot[9]);
        Assert.Equal(1f, oneHot[10 + 3]);
        Assert.Equal(2f, oneHot.Sum());
    }

    [Fact]
    public void A_batch_of_the_wrong_size_or_index_is_refused()
    {
        var set = Images(labels: [1, 2]);

        Refused.Assert<ArgumentException>(() => set.GatherBatch([0], new float[5], new float[10]), "pixels",
            $"the pixel batch holds 5 floats; 1 images need {set.PixelsPerImage}");
        Refused.Assert<ArgumentException>(() => set.GatherBatch([0], new float[set.PixelsPerImage], new float[9]), "targets",
            "the label batch holds 9 floats; 1 labels need 10");
        Refused.Assert<ArgumentOutOfRangeException>(() => set.GatherBatch([2], new float[set.PixelsPerImage], new float[10]), "indices",
            "index 0 of the batch is outside 0..1", "2");
    }

    [Fact]
    public void Validation_split_takes_the_last_fraction_before_shuffling()
    {
        var set = Images(labels: Enumerable.Range(0, 10).Select(i => (byte)i).ToArray());

        var (train, validation) = set.SplitValidation(0.2);

        Assert.Equal(8, train.Count);
        Assert.Equal(2, validation.Count);
        Assert.Equal([8, 9], validation.Labels.ToArray());
        Assert.Equal(set.RawPixels.Slice(8 * set.PixelsPerImage).ToArray(), validation.RawPixels.ToArray());
    }

    [Theory]
    [InlineData(60_000, 0.2, 48_000)]
    [InlineData(60_000, 0.1, 54_000)]
    [InlineData(7, 0.5, 3)]
    [InlineData(1001, 0.3, 700)]
    public void Validation_split_rounds_down_as_keras_does(int count, double fraction, int expectedTrain)
    {
        var set = new LabeledImages(new byte[count], new byte[count], 1, 1, 1, classCount: 10);

        var (train, validation) = set.SplitValidation(fraction);

        Assert.Equal(expectedTrain, train.Count);
        Assert.Equal(count - expectedTrain, validation.Count);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(0.999)]
    public void A_split_that_leaves_a_set_empty_is_refused(double fraction)
    {
        var set = Images(labels: [1, 2, 3]);

        var error = Refused.Assert<ArgumentOutOfRangeException>(() => set.SplitValidation(fraction), "fraction", "validation_split");
        Assert.Matches(fraction is > 0 and < 1 ? "leaves an empty training or validation set of 3 samples" : @"must be in \(0, 1\)", error.Message);
    }

    [Fact]
    public void Counts_per_class()
    {
        Assert.Equal([1, 0, 0, 2, 0, 0, 0, 0, 0, 1], Images(labels: [3, 0, 9, 3]).CountPerClass());
    }

    [Fact]
    public void Pixels_and_labels_must_agree()
    {
        Refused.Assert<ArgumentException>(() => new LabeledImages(new byte[10], new byte[2], 2, 2, 1, 10), "pixels", "10 pixels do not make 2 images of 2x2x1");
        Refused.Assert<ArgumentException>(() => new LabeledImages(new byte[4], new byte[] { 10 }, 2, 2, 1, 10), "labels", "label 10 is not a class of 10");
    }

    private static LabeledImages Images(byte[] labels) =>
        new(IdxTestFiles.Pattern(labels.Length * 4 * 3 * 2), labels, height: 4, width: 3, channels: 2, classCount: 10);
}

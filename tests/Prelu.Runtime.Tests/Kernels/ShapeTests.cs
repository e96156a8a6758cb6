using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>Shapes compute Keras's output sizes and refuse what cannot be.</summary>
public sealed class ShapeTests
{
    [Theory]
    [InlineData(28, 3, 1, Padding.Valid, 26, 0)]
    [InlineData(13, 3, 1, Padding.Valid, 11, 0)]
    [InlineData(11, 2, 2, Padding.Valid, 5, 0)]   // floor
    [InlineData(28, 3, 1, Padding.Same, 28, 1)]
    [InlineData(9, 3, 2, Padding.Same, 5, 1)]
    [InlineData(8, 3, 2, Padding.Same, 4, 0)]      // total padding 1: none before, one after (TensorFlow)
    [InlineData(7, 4, 3, Padding.Same, 3, 1)]
    public void Spatial_sizes_follow_tensorflow(int input, int window, int stride, Padding padding, int output, int padBefore)
    {
        Assert.Equal((output, padBefore), SpatialAxis.Resolve(input, window, stride, padding));
    }

    [Fact]
    public void Zero_sizes_are_refused_with_the_name()
    {
        Refused.Assert<ArgumentOutOfRangeException>(() => new Conv2DShape(1, 28, 28, 1, 0, 3, 3), "filters", "Conv2DShape: filters must be at least 1, got 0");
        Refused.Assert<ArgumentOutOfRangeException>(() => new DenseShape(0, 3, 4), "batch", "DenseShape: batch must be at least 1, got 0");
        Refused.Assert<ArgumentOutOfRangeException>(() => new Pool2DShape(1, 4, 4, 1, 2, 2, 0, 2), "strideY", "Pool2DShape: strideY must be at least 1, got 0");
        Refused.Assert<ArgumentOutOfRangeException>(() => new PReluShape(0, [3]), "batch", "PReluShape: batch must be at least 1, got 0");
    }

    [Fact]
    public void A_kernel_larger_than_its_valid_input_is_refused()
    {
        Refused.Assert<ArgumentException>(() => new Conv2DShape(1, 2, 5, 1, 4, 3, 3), null, "a 3x3 kernel does not fit a 2x5 input");
        Refused.Assert<ArgumentException>(() => new Pool2DShape(1, 1, 1, 3, 2, 2), null, "Pooling: a 2x2 pool does not fit a 1x1 input");
    }

    [Fact]
    public void Shared_axes_must_be_axes_of_the_input()
    {
        Refused.Assert<ArgumentOutOfRangeException>(() => new PReluShape(2, [26, 26, 32], [0]), "sharedAxes",
            "PReLU: shared axis 0 is outside 1..3 for an input of shape (batch, 26, 26, 32)");
        Refused.Assert<ArgumentOutOfRangeException>(() => new PReluShape(2, [26, 26, 32], [4]), "sharedAxes", "shared axis 4 is outside 1..3");
        Refused.Assert<ArgumentException>(() => new PReluShape(2, [26, 26, 32], [1, 1]), "sharedAxes", "PReLU: shared axis 1 is listed twice");
    }

    [Fact]
    public void Alpha_indices_follow_the_shared_axes()
    {
        var widthShared = new PReluShape(1, [2, 3, 4], [2]); // alpha (2, 1, 4)
        Assert.Equal([2, 1, 4], widthShared.AlphaDims);
        // Element (h=1, w=2, c=3) is flat ((1 * 3) + 2) * 4 + 3 = 23; its alpha is (1, 0, 3) -> 1 * 4 + 3 = 7.
        Assert.Equal(7, widthShared.AlphaIndex(23));
        Assert.Equal(PReluSharing.Other, widthShared.Sharing);
    }

    [Fact]
    public void Kernel_contract_checks_the_dropout_rate()
    {
        using var backend = new Prelu.Backends.ManagedBackend();
        using var x = backend.Allocate(4);
        Refused.Assert<ArgumentOutOfRangeException>(() => backend.DropoutForward(1f, 1, 1, x, x, x), "rate", "Dropout: rate must be in [0, 1)", "1");
        Refused.Assert<ArgumentOutOfRangeException>(() => backend.DropoutForward(-0.1f, 1, 1, x, x, x), "rate", "Dropout: rate must be in [0, 1)", "-0.1");
    }
}

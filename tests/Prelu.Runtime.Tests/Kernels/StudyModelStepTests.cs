using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>
/// The study's model wired by hand through the kernel contract (per-element PReLU, dropout, batch 4):
/// one forward pass, backward pass and Adam step, against PyTorch's autograd on the same weights, on both managed backends.
/// </summary>
public sealed class StudyModelStepTests
{
    [Theory]
    [InlineData("managed")]
    [InlineData("simd")]
    public void One_training_step_matches_pytorch(string backendName)
    {
        using Backend backend = backendName == "simd" ? new SimdBackend() : new ManagedBackend();

        var step = StudyStep.HandWired(backend);

        Close.Assert(Fixture.Get("study.logits"), step.Logits, Close.Forward, "logits");
        Close.Assert(Fixture.Get("study.loss"), [step.LossSum / StudyStep.Batch], Close.Forward, "loss");
        foreach (var (name, gradient) in step.Gradients)
            Close.Assert(Fixture.Get($"study.grad.{name}"), StudyStep.AsInFixture(name, gradient), Close.Gradient, $"gradient of {name}");

        // One Adam step on every parameter. Adam's first step moves a weight by about lr * sign(g) whatever
        // |g| is, so a gradient near zero carries its relative error into the update: held to the gradient tolerance.
        foreach (var (name, values) in StudyStep.InitialParameters())
        {
            using var w = backend.Allocate(values);
            using var g = backend.Allocate(step.Gradients[name]);
            using var m = backend.Allocate(values.Length);
            using var v = backend.Allocate(values.Length);
            backend.AdamUpdate(new AdamSettings(), 1, w, g, m, v);
            Close.Assert(Fixture.Get($"study.adam.{name}"), StudyStep.AsInFixture(name, backend.ToArray(w)), Close.Gradient, $"{name} after one Adam step");
        }
    }

    [Fact]
    public void The_studys_parameter_counts_and_alpha_shapes()
    {
        var conv1 = new Conv2DShape(1, 28, 28, 1, 32, 3, 3);
        var conv2 = new Conv2DShape(1, 13, 13, 32, 64, 3, 3);
        var dense1 = new DenseShape(1, 1600, 256);
        var dense2 = new DenseShape(1, 256, 10);
        var prelu1 = new PReluShape(1, [conv1.OutHeight, conv1.OutWidth, conv1.Filters]);
        var pool1 = new Pool2DShape(1, 26, 26, 32, 2, 2);
        var pool2 = new Pool2DShape(1, 11, 11, 64, 2, 2);
        var prelu2 = new PReluShape(1, [conv2.OutHeight, conv2.OutWidth, conv2.Filters]);
        var prelu3 = new PReluShape(1, [256]);

        Assert.Equal((26, 26), (conv1.OutHeight, conv1.OutWidth));
        Assert.Equal((13, 13), (pool1.OutHeight, pool1.OutWidth));
        Assert.Equal((11, 11), (conv2.OutHeight, conv2.OutWidth));
        Assert.Equal((5, 5), (pool2.OutHeight, pool2.OutWidth)); // floor: the last row and column are dropped
        Assert.Equal([26, 26, 32], prelu1.AlphaDims);
        Assert.Equal([11, 11, 64], prelu2.AlphaDims);
        Assert.Equal(320, conv1.KernelLength + conv1.BiasLength);
        Assert.Equal(21_632, prelu1.AlphaLength);
        Assert.Equal(18_496, conv2.KernelLength + conv2.BiasLength);
        Assert.Equal(7_744, prelu2.AlphaLength);
        Assert.Equal(409_856, dense1.KernelLength + dense1.BiasLength);
        Assert.Equal(256, prelu3.AlphaLength);
        Assert.Equal(2_570, dense2.KernelLength + dense2.BiasLength);
        int relu = 320 + 18_496 + 409_856 + 2_570;
        Assert.Equal(431_242, relu);
        Assert.Equal(460_874, relu + prelu1.AlphaLength + prelu2.AlphaLength + prelu3.AlphaLength);

        // The paper's forms: channel-wise (32 alphas) and channel-shared (one alpha) after conv1.
        var channelWise = new PReluShape(1, [26, 26, 32], [1, 2]);
        var channelShared = new PReluShape(1, [26, 26, 32], [1, 2, 3]);
        Assert.Equal([1, 1, 32], channelWise.AlphaDims);
        Assert.Equal(PReluSharing.ChannelWise, channelWise.Sharing);
        Assert.Equal([1, 1, 1], channelShared.AlphaDims);
        Assert.Equal(PReluSharing.ChannelShared, channelShared.Sharing);
        Assert.Equal(PReluSharing.PerElement, prelu1.Sharing);
    }
}

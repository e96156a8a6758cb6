using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>
/// The study's model wired by hand through the kernel contract (per-element PReLU, dropout, batch 4):
/// one forward pass, backward pass and Adam step, against PyTorch's autograd on the same weights.
/// </summary>
public sealed class StudyModelStepTests
{
    private const int Batch = 4;
    private const ulong Seed = 1000;

    [Fact]
    public void One_training_step_matches_pytorch()
    {
        using var backend = new ManagedBackend();
        DeviceBuffer Up(float[] v) => backend.Allocate(v);
        DeviceBuffer New(int n) => backend.Allocate(n);

        var conv1 = new Conv2DShape(Batch, 28, 28, 1, 32, 3, 3);
        var prelu1 = new PReluShape(Batch, [26, 26, 32]);
        var pool1 = new Pool2DShape(Batch, 26, 26, 32, 2, 2);
        var conv2 = new Conv2DShape(Batch, 13, 13, 32, 64, 3, 3);
        var prelu2 = new PReluShape(Batch, [11, 11, 64]);
        var pool2 = new Pool2DShape(Batch, 11, 11, 64, 2, 2);
        var dense1 = new DenseShape(Batch, 1600, 256);
        var prelu3 = new PReluShape(Batch, [256]);
        var dense2 = new DenseShape(Batch, 256, 10);

        var initial = new Dictionary<string, float[]>
        {
            ["conv1.kernel"] = Det.Floats(conv1.KernelLength, Seed + 1, -0.3, 0.3),
            ["conv1.bias"] = Det.Floats(32, Seed + 2, -0.1, 0.1),
            ["prelu1.alpha"] = Det.Floats(prelu1.AlphaLength, Seed + 3, 0, 0.5),
            ["conv2.kernel"] = Det.Floats(conv2.KernelLength, Seed + 4, -0.08, 0.08),
            ["conv2.bias"] = Det.Floats(64, Seed + 5, -0.1, 0.1),
            ["prelu2.alpha"] = Det.Floats(prelu2.AlphaLength, Seed + 6, 0, 0.5),
            ["dense1.kernel"] = Det.Floats(dense1.KernelLength, Seed + 7, -0.05, 0.05),
            ["dense1.bias"] = Det.Floats(256, Seed + 8, -0.1, 0.1),
            ["prelu3.alpha"] = Det.Floats(256, Seed + 9, 0, 0.5),
            ["dense2.kernel"] = Det.Floats(dense2.KernelLength, Seed + 10, -0.15, 0.15),
            ["dense2.bias"] = Det.Floats(10, Seed + 11, -0.1, 0.1),
        };
        var p = initial.ToDictionary(e => e.Key, e => Up(e.Value));
        var g = initial.ToDictionary(e => e.Key, e => New(e.Value.Length));

        using var x = Up(Det.Floats(conv1.InputLength, Seed, 0, 1));
        using var labels = Up(Det.OneHot(Batch, 10));
        using DeviceBuffer z1 = New(conv1.OutputLength), y1 = New(conv1.OutputLength), h1 = New(pool1.OutputLength),
            mask1 = New(pool1.OutputLength), d1 = New(pool1.OutputLength), z2 = New(conv2.OutputLength), y2 = New(conv2.OutputLength),
            h2 = New(pool2.OutputLength), mask2 = New(pool2.OutputLength), d2 = New(pool2.OutputLength), z3 = New(dense1.OutputLength),
            y3 = New(dense1.OutputLength), logits = New(dense2.OutputLength), probabilities = New(dense2.OutputLength),
            metrics = New(MetricSlot.Count);
        var act1 = FusedActivation.Parametric(prelu1);
        var act2 = FusedActivation.Parametric(prelu2);
        var act3 = FusedActivation.Parametric(prelu3);

        // Forward.
        backend.Conv2DForward(conv1, act1, x, p["conv1.kernel"], p["conv1.bias"], p["prelu1.alpha"], z1, y1);
        backend.MaxPool2DForward(pool1, y1, h1);
        backend.DropoutForward(0.25f, Seed + 101, 1, h1, mask1, d1);
        backend.Conv2DForward(conv2, act2, d1, p["conv2.kernel"], p["conv2.bias"], p["prelu2.alpha"], z2, y2);
        backend.MaxPool2DForward(pool2, y2, h2);
        backend.DropoutForward(0.25f, Seed + 102, 1, h2, mask2, d2);
        backend.DenseForward(dense1, act3, d2, p["dense1.kernel"], p["dense1.bias"], p["prelu3.alpha"], z3, y3);
        backend.DenseForward(dense2, FusedActivation.Linear, y3, p["dense2.kernel"], p["dense2.bias"], null, null, logits);

        // Loss and backward; gradients flow through buffers of the forward pass's shapes.
        using DeviceBuffer dLogits = New(dense2.OutputLength), dy3 = New(dense1.OutputLength), dd2 = New(pool2.OutputLength),
            dy2 = New(conv2.OutputLength), dd1 = New(pool1.OutputLength), dy1 = New(conv1.OutputLength);
        backend.SoftmaxCrossEntropy(Batch, 10, logits, labels, probabilities, dLogits, metrics);
        backend.DenseBackward(dense2, FusedActivation.Linear, y3, p["dense2.kernel"], null, null, dLogits, dy3, g["dense2.kernel"], g["dense2.bias"], null);
        backend.DenseBackward(dense1, act3, d2, p["dense1.kernel"], p["prelu3.alpha"], z3, dy3, dd2, g["dense1.kernel"], g["dense1.bias"], g["prelu3.alpha"]);
        backend.DropoutBackward(mask2, dd2, dd2);
        backend.MaxPool2DBackward(pool2, y2, dd2, dy2);
        backend.Conv2DBackward(conv2, act2, d1, p["conv2.kernel"], p["prelu2.alpha"], z2, dy2, dd1, g["conv2.kernel"], g["conv2.bias"], g["prelu2.alpha"]);
        backend.DropoutBackward(mask1, dd1, dd1);
        backend.MaxPool2DBackward(pool1, y1, dd1, dy1);
        backend.Conv2DBackward(conv1, act1, x, p["conv1.kernel"], p["prelu1.alpha"], z1, dy1, null, g["conv1.kernel"], g["conv1.bias"], g["prelu1.alpha"]);

        Close.Assert(Fixture.Get("study.logits"), backend.ToArray(logits), Close.Forward, "logits");
        Close.Assert(Fixture.Get("study.loss"), [backend.ToArray(metrics)[MetricSlot.LossSum] / Batch], Close.Forward, "loss");
        foreach (var name in initial.Keys)
            Close.Assert(Fixture.Get($"study.grad.{name}"), Sampled(name, backend.ToArray(g[name])), Close.Gradient, $"gradient of {name}");

        // One Adam step on every parameter.
        foreach (var name in initial.Keys)
        {
            using var m = New(initial[name].Length);
            using var v = New(initial[name].Length);
            backend.AdamUpdate(new AdamSettings(), 1, p[name], g[name], m, v);
            Close.Assert(Fixture.Get($"study.adam.{name}"), Sampled(name, backend.ToArray(p[name])), Close.Forward, $"{name} after one Adam step");
        }
    }

    // The fixture keeps every 97th value of the 409,600-value dense kernel.
    private static float[] Sampled(string name, float[] values) =>
        name == "dense1.kernel" ? values.Where((_, i) => i % 97 == 0).ToArray() : values;

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

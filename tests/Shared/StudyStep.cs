using Prelu.Kernels;

namespace Prelu.Tests.Shared;

/// <summary>
/// One training step of the study's model (per-element PReLU, dropout, batch 4) wired by hand through
/// the kernel contract, on the weights the PyTorch fixture used. Parameters carry Keras's automatic
/// names, as the generated model names them; the dropout seeds are the generated model's (seed + 100 +
/// layer index, the dropouts being layers 3 and 7).
/// </summary>
public static class StudyStep
{
    public const int Batch = 4;
    public const ulong Seed = 1000;

    public static float[] Input() => Det.Floats(Batch * 784, Seed, 0, 1);

    public static float[] Labels() => Det.OneHot(Batch, 10);

    /// <summary>The fixture's starting weights, by parameter name, in layer order.</summary>
    public static Dictionary<string, float[]> InitialParameters() => new()
    {
        ["conv2d.kernel"] = Det.Floats(3 * 3 * 1 * 32, Seed + 1, -0.3, 0.3),
        ["conv2d.bias"] = Det.Floats(32, Seed + 2, -0.1, 0.1),
        ["p_re_lu.alpha"] = Det.Floats(26 * 26 * 32, Seed + 3, 0, 0.5),
        ["conv2d_1.kernel"] = Det.Floats(3 * 3 * 32 * 64, Seed + 4, -0.08, 0.08),
        ["conv2d_1.bias"] = Det.Floats(64, Seed + 5, -0.1, 0.1),
        ["p_re_lu_1.alpha"] = Det.Floats(11 * 11 * 64, Seed + 6, 0, 0.5),
        ["dense.kernel"] = Det.Floats(1600 * 256, Seed + 7, -0.05, 0.05),
        ["dense.bias"] = Det.Floats(256, Seed + 8, -0.1, 0.1),
        ["p_re_lu_2.alpha"] = Det.Floats(256, Seed + 9, 0, 0.5),
        ["dense_1.kernel"] = Det.Floats(256 * 10, Seed + 10, -0.15, 0.15),
        ["dense_1.bias"] = Det.Floats(10, Seed + 11, -0.1, 0.1),
    };

    /// <summary>The fixture keeps every 97th value of the 409,600-value dense kernel.</summary>
    public static float[] AsInFixture(string name, float[] values) =>
        name == "dense.kernel" ? values.Where((_, i) => i % 97 == 0).ToArray() : values;

    public sealed record Result(float[] Logits, float LossSum, Dictionary<string, float[]> Gradients);

    /// <summary>Forward, loss and backward of one step, by hand; returns logits, loss sum and every gradient.</summary>
    public static Result HandWired(Backend backend)
    {
        var conv1 = new Conv2DShape(Batch, 28, 28, 1, 32, 3, 3);
        var prelu1 = new PReluShape(Batch, [26, 26, 32]);
        var pool1 = new Pool2DShape(Batch, 26, 26, 32, 2, 2);
        var conv2 = new Conv2DShape(Batch, 13, 13, 32, 64, 3, 3);
        var prelu2 = new PReluShape(Batch, [11, 11, 64]);
        var pool2 = new Pool2DShape(Batch, 11, 11, 64, 2, 2);
        var dense1 = new DenseShape(Batch, 1600, 256);
        var prelu3 = new PReluShape(Batch, [256]);
        var dense2 = new DenseShape(Batch, 256, 10);
        var act1 = FusedActivation.Parametric(prelu1);
        var act2 = FusedActivation.Parametric(prelu2);
        var act3 = FusedActivation.Parametric(prelu3);

        var initial = InitialParameters();
        var buffers = new List<DeviceBuffer>();
        DeviceBuffer Up(float[] v) => Keep(backend.Allocate(v));
        DeviceBuffer New(int n) => Keep(backend.Allocate(n));
        DeviceBuffer Keep(DeviceBuffer b)
        {
            buffers.Add(b);
            return b;
        }
        try
        {
            var p = initial.ToDictionary(e => e.Key, e => Up(e.Value));
            var g = initial.ToDictionary(e => e.Key, e => New(e.Value.Length));
            var x = Up(Input());
            var labels = Up(Labels());
            DeviceBuffer z1 = New(conv1.OutputLength), y1 = New(conv1.OutputLength), h1 = New(pool1.OutputLength),
                mask1 = New(pool1.OutputLength), d1 = New(pool1.OutputLength), z2 = New(conv2.OutputLength), y2 = New(conv2.OutputLength),
                h2 = New(pool2.OutputLength), mask2 = New(pool2.OutputLength), d2 = New(pool2.OutputLength), z3 = New(dense1.OutputLength),
                y3 = New(dense1.OutputLength), logits = New(dense2.OutputLength), probabilities = New(dense2.OutputLength),
                metrics = New(MetricSlot.Count);

            backend.Conv2DForward(conv1, act1, x, p["conv2d.kernel"], p["conv2d.bias"], p["p_re_lu.alpha"], z1, y1);
            backend.MaxPool2DForward(pool1, y1, h1);
            backend.DropoutForward(0.25f, Seed + 103, 1, h1, mask1, d1);
            backend.Conv2DForward(conv2, act2, d1, p["conv2d_1.kernel"], p["conv2d_1.bias"], p["p_re_lu_1.alpha"], z2, y2);
            backend.MaxPool2DForward(pool2, y2, h2);
            backend.DropoutForward(0.25f, Seed + 107, 1, h2, mask2, d2);
            backend.DenseForward(dense1, act3, d2, p["dense.kernel"], p["dense.bias"], p["p_re_lu_2.alpha"], z3, y3);
            backend.DenseForward(dense2, FusedActivation.Linear, y3, p["dense_1.kernel"], p["dense_1.bias"], null, null, logits);
            var logitValues = backend.ToArray(logits);

            DeviceBuffer dLogits = New(dense2.OutputLength), dy3 = New(dense1.OutputLength), dd2 = New(pool2.OutputLength),
                dy2 = New(conv2.OutputLength), dd1 = New(pool1.OutputLength), dy1 = New(conv1.OutputLength);
            backend.SoftmaxCrossEntropy(Batch, 10, logits, labels, probabilities, dLogits, metrics);
            backend.DenseBackward(dense2, FusedActivation.Linear, y3, p["dense_1.kernel"], null, null, dLogits, dy3, g["dense_1.kernel"], g["dense_1.bias"], null);
            backend.DenseBackward(dense1, act3, d2, p["dense.kernel"], p["p_re_lu_2.alpha"], z3, dy3, dd2, g["dense.kernel"], g["dense.bias"], g["p_re_lu_2.alpha"]);
            backend.DropoutBackward(mask2, dd2, dd2);
            backend.MaxPool2DBackward(pool2, y2, dd2, dy2);
            backend.Conv2DBackward(conv2, act2, d1, p["conv2d_1.kernel"], p["p_re_lu_1.alpha"], z2, dy2, dd1, g["conv2d_1.kernel"], g["conv2d_1.bias"], g["p_re_lu_1.alpha"]);
            backend.DropoutBackward(mask1, dd1, dd1);
            backend.MaxPool2DBackward(pool1, y1, dd1, dy1);
            backend.Conv2DBackward(conv1, act1, x, p["conv2d.kernel"], p["p_re_lu.alpha"], z1, dy1, null, g["conv2d.kernel"], g["conv2d.bias"], g["p_re_lu.alpha"]);

            return new Result(logitValues, backend.ToArray(metrics)[MetricSlot.LossSum], g.ToDictionary(e => e.Key, e => backend.ToArray(e.Value)));
        }
        finally
        {
            foreach (var buffer in buffers)
                buffer.Dispose();
        }
    }
}

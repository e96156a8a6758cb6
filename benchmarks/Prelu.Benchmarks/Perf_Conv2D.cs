using BenchmarkDotNet.Attributes;
using Prelu.Kernels;

namespace Prelu.Benchmarks;

/// <summary>
/// A convolution's forward and backward (input and kernel gradients) with per-element PReLU fused, batch
/// 250: the study's two layers and an odd one (strides, 'same' padding, sizes that fill no vector).
/// </summary>
public class Perf_Conv2D : BackendWorkloads
{
    [Params("conv1", "conv2", "odd")]
    public string Layer { get; set; } = "conv2";

    public static Conv2DShape ShapeOf(string layer, int batch = 250) => layer switch
    {
        "conv1" => new Conv2DShape(batch, 28, 28, 1, 32, 3, 3),
        "conv2" => new Conv2DShape(batch, 13, 13, 32, 64, 3, 3),
        _ => new Conv2DShape(batch, 15, 13, 5, 19, 3, 5, 2, 2, Padding.Same),
    };

    protected override Workload Build(Backend backend)
    {
        var s = ShapeOf(Layer);
        var act = FusedActivation.Parametric(new PReluShape(s.Batch, [s.OutHeight, s.OutWidth, s.Filters]));
        int alphas = act.PRelu!.AlphaLength;
        DeviceBuffer x = Data(backend, s.InputLength, 1), k = Data(backend, s.KernelLength, 2), b = Data(backend, s.Filters, 3),
            a = Data(backend, alphas, 4, 0f, 0.3f), z = Zeros(backend, s.OutputLength), y = Zeros(backend, s.OutputLength),
            dyInput = Data(backend, s.OutputLength, 5), dy = Zeros(backend, s.OutputLength), dk = Zeros(backend, s.KernelLength),
            db = Zeros(backend, s.Filters), da = Zeros(backend, alphas);
        // The study's first layer has no input gradient to compute.
        DeviceBuffer? dx = Layer == "conv1" ? null : Zeros(backend, s.InputLength);
        return new Workload(() =>
        {
            backend.Conv2DForward(s, act, x, k, b, a, z, y);
            backend.Copy(dyInput, dy); // backward turns dy into dz in place
            backend.Conv2DBackward(s, act, x, k, a, z, dy, dx, dk, db, da);
        }, dx is null ? [y, dk, db, da] : [y, dk, db, da, dx]);
    }
}

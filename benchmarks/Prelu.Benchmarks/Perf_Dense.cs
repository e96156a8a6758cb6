using BenchmarkDotNet.Attributes;
using Prelu.Kernels;

namespace Prelu.Benchmarks;

/// <summary>
/// A dense layer's forward and backward, batch 250: the study's Dense(256) with per-element PReLU, its
/// Dense(10) (linear, before the softmax), and an odd one.
/// </summary>
public class Perf_Dense : BackendWorkloads
{
    [Params("dense1", "dense2", "odd")]
    public string Layer { get; set; } = "dense1";

    protected override Workload Build(Backend backend)
    {
        var s = Layer switch
        {
            "dense1" => new DenseShape(250, 1600, 256),
            "dense2" => new DenseShape(250, 256, 10),
            _ => new DenseShape(250, 333, 77),
        };
        var act = Layer == "dense2" ? FusedActivation.Linear : FusedActivation.Parametric(new PReluShape(s.Batch, [s.Units]));
        int alphas = act.PRelu?.AlphaLength ?? 0;
        DeviceBuffer x = Data(backend, s.InputLength, 1), k = Data(backend, s.KernelLength, 2), b = Data(backend, s.Units, 3),
            y = Zeros(backend, s.OutputLength), dyInput = Data(backend, s.OutputLength, 5), dy = Zeros(backend, s.OutputLength),
            dx = Zeros(backend, s.InputLength), dk = Zeros(backend, s.KernelLength), db = Zeros(backend, s.Units);
        DeviceBuffer? a = alphas > 0 ? Data(backend, alphas, 4, 0f, 0.3f) : null, z = alphas > 0 ? Zeros(backend, s.OutputLength) : null,
            da = alphas > 0 ? Zeros(backend, alphas) : null;
        return new Workload(() =>
        {
            backend.DenseForward(s, act, x, k, b, a, z, y);
            backend.Copy(dyInput, dy);
            backend.DenseBackward(s, act, x, k, a, z, dy, dx, dk, db, da);
        }, y, dk, db, dx);
    }
}

using BenchmarkDotNet.Attributes;
using Prelu.Kernels;

namespace Prelu.Benchmarks;

/// <summary>
/// PReLU on its own (forward, then backward with the alpha gradient) after the study's first convolution
/// (250 x 26 x 26 x 32), in each sharing: per element (Keras's default), channel-wise, one alpha for the
/// layer, and shared along one spatial axis only.
/// </summary>
public class Perf_PRelu : BackendWorkloads
{
    [Params("element", "channel", "shared", "irregular")]
    public string Sharing { get; set; } = "element";

    protected override Workload Build(Backend backend)
    {
        int[] shared = Sharing switch
        {
            "element" => [],
            "channel" => [1, 2],
            "shared" => [1, 2, 3],
            _ => [2],
        };
        var shape = new PReluShape(250, [26, 26, 32], shared);
        var act = FusedActivation.Parametric(shape);
        DeviceBuffer x = Data(backend, shape.Length, 1), a = Data(backend, shape.AlphaLength, 2, 0f, 0.3f), y = Zeros(backend, shape.Length),
            dy = Data(backend, shape.Length, 3), dx = Zeros(backend, shape.Length), da = Zeros(backend, shape.AlphaLength);
        return new Workload(() =>
        {
            backend.ActivationForward(act, x, a, y);
            backend.ActivationBackward(act, x, a, dy, dx, da);
        }, y, dx, da);
    }
}

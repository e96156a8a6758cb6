using BenchmarkDotNet.Attributes;
using Prelu.Kernels;

namespace Prelu.Benchmarks;

/// <summary>Max pooling forward and backward, batch 250: the study's two poolings and an odd one (3x3 windows, stride 2, 'same').</summary>
public class Perf_MaxPool2D : BackendWorkloads
{
    [Params("pool1", "pool2", "odd")]
    public string Layer { get; set; } = "pool1";

    protected override Workload Build(Backend backend)
    {
        var s = Layer switch
        {
            "pool1" => new Pool2DShape(250, 26, 26, 32, 2, 2),
            "pool2" => new Pool2DShape(250, 11, 11, 64, 2, 2),
            _ => new Pool2DShape(250, 15, 13, 19, 3, 3, 2, 2, Padding.Same),
        };
        DeviceBuffer x = Data(backend, s.InputLength, 1), y = Zeros(backend, s.OutputLength), dy = Data(backend, s.OutputLength, 2),
            dx = Zeros(backend, s.InputLength);
        return new Workload(() =>
        {
            backend.MaxPool2DForward(s, x, y);
            backend.MaxPool2DBackward(s, x, dy, dx);
        }, y, dx);
    }
}

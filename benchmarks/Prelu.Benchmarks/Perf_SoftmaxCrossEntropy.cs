using BenchmarkDotNet.Attributes;
using Prelu.Kernels;

namespace Prelu.Benchmarks;

/// <summary>Softmax with cross-entropy, its gradient and the metrics, batch 250: the study's 10 classes and an odd 37.</summary>
public class Perf_SoftmaxCrossEntropy : BackendWorkloads
{
    [Params(10, 37)]
    public int Classes { get; set; } = 10;

    protected override Workload Build(Backend backend)
    {
        const int batch = 250;
        var labels = new float[batch * Classes];
        for (int b = 0; b < batch; b++)
            labels[b * Classes + b * 7 % Classes] = 1f;
        DeviceBuffer z = Data(backend, batch * Classes, 1, -3f, 3f), y = Owned(backend.Allocate(labels)), p = Zeros(backend, batch * Classes),
            dz = Zeros(backend, batch * Classes), metrics = Zeros(backend, MetricSlot.Count);
        return new Workload(() =>
        {
            backend.Fill(metrics, 0f);
            backend.SoftmaxCrossEntropy(batch, Classes, z, y, p, dz, metrics);
        }, p, dz, metrics);
    }
}

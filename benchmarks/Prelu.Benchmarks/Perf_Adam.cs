using BenchmarkDotNet.Attributes;
using Prelu.Kernels;

namespace Prelu.Benchmarks;

/// <summary>One Adam update of a parameter arena: the study's (460,874 parameters, PReLU per element) and an odd length.</summary>
public class Perf_Adam : BackendWorkloads
{
    [Params(460_874, 1_001)]
    public int Length { get; set; } = 460_874;

    protected override Workload Build(Backend backend)
    {
        DeviceBuffer w = Data(backend, Length, 1), g = Data(backend, Length, 2, -0.01f, 0.01f), m = Zeros(backend, Length), v = Zeros(backend, Length);
        var settings = new AdamSettings();
        return new Workload(() => backend.AdamUpdate(settings, 1, w, g, m, v), w, m, v);
    }
}

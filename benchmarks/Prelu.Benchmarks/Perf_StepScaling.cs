using BenchmarkDotNet.Attributes;
using Prelu.Kernels;

namespace Prelu.Benchmarks;

/// <summary>
/// The study's PReLU training step against batch size (1, 32, 250, 1024) and threads (1, 2) on each
/// backend: images per second is batch / time. The scalar reference has one thread; OpenCL's threads are
/// its device's (PoCL takes every core). Each case is checked against the reference at its batch size once.
/// </summary>
[MemoryDiagnoser]
public class Perf_StepScaling
{
    // The reference's results per batch size, computed once per process (the benchmarks run in process).
    private static readonly Dictionary<int, List<float[]>> ReferenceResults = [];

    private readonly List<IDisposable> _owned = [];
    private Backend? _backend;
    private Workload? _work;
    private readonly float[] _sink = new float[1];

    public static IEnumerable<string> Cases()
    {
        foreach (int batch in new[] { 1, 32, 250, 1024 })
        {
            yield return $"managed/1/{batch}";
            foreach (var backend in new[] { "simd", "native" })
            {
                yield return $"{backend}/1/{batch}";
                yield return $"{backend}/2/{batch}";
            }
            yield return $"opencl/device/{batch}";
        }
    }

    /// <summary>backend/threads/batch.</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "native/2/250";

    public static (string Backend, int Threads, int Batch) Parse(string @case)
    {
        var parts = @case.Split('/');
        return (parts[0], parts[1] == "device" ? 0 : int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    [GlobalSetup]
    public void Setup()
    {
        var (name, threads, batch) = Parse(Case);
        _backend = BackendWorkloads.CreateBackend(name, threads);
        _work = Perf_TrainingStep.Step(_backend, "prelu", batch, Own);
        var results = _work.RunAndRead(_backend);
        if (name == "managed")
        {
            ReferenceResults[batch] = results;
            return;
        }
        if (!ReferenceResults.TryGetValue(batch, out var reference))
        {
            using var managed = BackendWorkloads.CreateBackend("managed");
            var disposables = new List<IDisposable>();
            var work = Perf_TrainingStep.Step(managed, "prelu", batch, d => { disposables.Add(d); return d; });
            reference = ReferenceResults[batch] = work.RunAndRead(managed);
            disposables.ForEach(d => d.Dispose());
        }
        Agreement.Check($"{nameof(Perf_StepScaling)} {Case}", name, reference, results);
    }

    private IDisposable Own(IDisposable disposable)
    {
        _owned.Add(disposable);
        return disposable;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
            owned.Dispose();
        _owned.Clear();
        _backend?.Dispose();
    }

    [Benchmark]
    public float Step() => _work!.RunTimed(_backend!, _sink);
}

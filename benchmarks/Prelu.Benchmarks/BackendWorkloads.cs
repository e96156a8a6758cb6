using BenchmarkDotNet.Attributes;
using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Backends;
using Prelu.Native.OpenCL;

namespace Prelu.Benchmarks;

/// <summary>
/// One piece of work on one backend: what to run, and the buffers whose values it produces (compared with
/// the scalar reference's once, before anything is timed).
/// </summary>
public sealed class Workload(Action run, params DeviceBuffer[] results)
{
    public Action Run { get; } = run;
    public IReadOnlyList<DeviceBuffer> Results { get; } = results;

    /// <summary>Runs once and reads every result back: what is compared with the reference.</summary>
    public List<float[]> RunAndRead(Backend backend)
    {
        Run();
        return Results.Select(backend.ToArray).ToList();
    }

    /// <summary>Runs once and reads one value back: the work is done (OpenCL queues it) and nothing can be optimised away.</summary>
    public float RunTimed(Backend backend, float[] sink)
    {
        Run();
        backend.Download(Results[0].Slice(0, 1), sink);
        return sink[0];
    }
}

/// <summary>
/// The backend dimension of every Perf_ class: the scalar reference (the baseline of every ratio), the
/// managed SIMD backend, the C library and OpenCL (PoCL on a CPU, or a GPU), each a benchmark method so
/// that BenchmarkDotNet prints the ratio to the baseline. A derived class builds its work per backend in
/// <see cref="Build"/>; setup runs it once on each backend and refuses to time a backend whose results
/// differ from the reference's (forward 1e-4, the rest 1e-3 relative to the largest value).
/// </summary>
[MemoryDiagnoser]
public abstract class BackendWorkloads
{
    public const int Threads = 2;
    public static readonly string[] BackendNames = ["managed", "simd", "native", "opencl"];

    private readonly Dictionary<string, (Backend Backend, Workload Work)> _work = [];
    private readonly List<IDisposable> _owned = [];
    private readonly float[] _sink = new float[1];

    /// <summary>Allocates the work's buffers on <paramref name="backend"/> (deterministic data) and returns what to run.</summary>
    protected abstract Workload Build(Backend backend);

    public static Backend CreateBackend(string name, int threads = Threads) => name switch
    {
        "managed" => new ManagedBackend(),
        "simd" => new SimdBackend(threads),
        "native" => new NativeBackend(threads),
        "opencl" => OpenClBackend.Create(),
        _ => throw new ArgumentException($"unknown backend {name}", nameof(name)),
    };

    [GlobalSetup]
    public void Setup()
    {
        foreach (var name in BackendNames)
        {
            var backend = CreateBackend(name);
            var work = Build(backend);
            _work[name] = (backend, work);
        }
        var reference = _work["managed"].Work.RunAndRead(_work["managed"].Backend);
        foreach (var name in BackendNames.Skip(1))
            Agreement.Check(GetType().Name, name, reference, _work[name].Work.RunAndRead(_work[name].Backend));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // Buffers and models first, then the backends that hold their memory.
        foreach (var owned in Enumerable.Reverse(_owned))
            owned.Dispose();
        foreach (var (backend, _) in _work.Values)
            backend.Dispose();
        _owned.Clear();
        _work.Clear();
    }

    [Benchmark(Baseline = true)]
    public float Managed() => Time("managed");

    [Benchmark]
    public float Simd() => Time("simd");

    [Benchmark]
    public float Native() => Time("native");

    [Benchmark]
    public float OpenCl() => Time("opencl");

    private float Time(string name) => _work[name].Work.RunTimed(_work[name].Backend, _sink);

    /// <summary>A buffer of <paramref name="length"/> values in [low, high), the same for every backend; freed at cleanup.</summary>
    protected DeviceBuffer Data(Backend backend, int length, int seed, float low = -0.5f, float high = 0.5f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = low + (float)random.NextDouble() * (high - low);
        return Owned(backend.Allocate(values));
    }

    /// <summary>A zeroed buffer, freed at cleanup.</summary>
    protected DeviceBuffer Zeros(Backend backend, int length) => Owned(backend.Allocate(length));

    /// <summary>Something the work holds (a model, a buffer), disposed at cleanup before its backend.</summary>
    protected T Owned<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}

/// <summary>The check every benchmark makes before it times: a backend's results against the reference's.</summary>
public static class Agreement
{
    public static void Check(string benchmark, string backend, IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual)
    {
        for (int r = 0; r < expected.Count; r++)
        {
            float scale = expected[r].Max(MathF.Abs) + 1e-6f;
            float tolerance = r == 0 ? 1e-4f : 1e-3f;
            for (int i = 0; i < expected[r].Length; i++)
            {
                float error = MathF.Abs(expected[r][i] - actual[r][i]) / scale;
                if (!(error <= tolerance))
                {
                    throw new InvalidOperationException(
                        $"{benchmark}: {backend} disagrees with the reference in result {r} at {i}: {actual[r][i]} against {expected[r][i]}; not timing it");
                }
            }
        }
    }
}

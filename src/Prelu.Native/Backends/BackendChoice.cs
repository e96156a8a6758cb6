using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Interop;
using Prelu.Native;
using Prelu.Native.Backends;
using Prelu.Native.OpenCL;

namespace Prelu;

/// <summary>
/// What <c>auto</c> measures: one training step of the model in hand on a backend, in seconds, after
/// whatever warm-up the step needs (kernel builds, first-touch allocations). <paramref name="ModelKey"/>
/// names the model and batch for the cache of decisions.
/// </summary>
public sealed record StepMeasure(string ModelKey, Func<Backend, double> SecondsPerStep);

/// <summary>Picks the backend a program runs on: by name, or automatically by measuring a training step on each.</summary>
public static class BackendChoice
{
    /// <summary>The names <see cref="Create"/> takes: "auto", "opencl", "native", "simd", "managed".</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "opencl", "native", "simd", "managed"];

    /// <summary>Where auto's decisions are kept: $PRELU_BACKEND_CACHE, else ~/.cache/prelu/backend-choice.</summary>
    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("PRELU_BACKEND_CACHE") is { Length: > 0 } folder ? folder
        : Path.Combine(Prelu.DataFolders.UserCacheFolder(), "prelu", "backend-choice");

    /// <summary>
    /// Creates the named backend; <paramref name="log"/> receives what was chosen and why. "opencl" takes
    /// the device PRELU_OPENCL_DEVICE names (default: the first GPU, else the first device, such as PoCL on
    /// a CPU). "auto" considers the C library (the managed SIMD kernels when it does not load) and that same
    /// OpenCL device: given <paramref name="measure"/>, it times one training step of the caller's model on
    /// each, takes the fastest, prints both times, and keeps the decision for this machine and model;
    /// without it, it takes the C library, which it never trades for an unmeasured device.
    /// </summary>
    public static Backend Create(string name, int threads, Action<string>? log = null, StepMeasure? measure = null)
    {
        if (name == "auto")
            return Auto(threads, log, measure);
        var backend = Named(name, threads);
        return Announce(backend, log);
    }

    private static Backend Named(string name, int threads) => name switch
    {
        "managed" => new ManagedBackend(),
        "simd" => new SimdBackend(threads),
        "opencl" => OpenClBackend.Create(),
        "native" => new NativeBackend(threads),
        _ => throw new ArgumentException($"unknown backend '{name}'; choose {string.Join(", ", Names)}", nameof(name)),
    };

    /// <summary>What a backend is, as the "backend: ..." line says it: its kind and how it runs here.</summary>
    public static string Describe(Backend backend) => backend switch
    {
        NativeBackend => $"native ({PreluNativeLibrary.Describe()})",
        SimdBackend simd => $"simd (managed, {simd.VectorBits}-bit vectors, {simd.Threads} threads)",
        ManagedBackend => "managed (plain C#, the reference)",
        _ => backend.Name,
    };

    // A backend auto may take.
    private sealed record Candidate(string Name, string Label, string Identity, Func<Backend> Create);

    private static Backend Auto(int threads, Action<string>? log, StepMeasure? measure)
    {
        var candidates = new List<Candidate>();
        if (PreluNativeLibrary.TryEnsureLoaded(out var failure))
        {
            candidates.Add(new("native", "native", $"native {PreluNativeLibrary.Describe()} threads {threads}", () => Named("native", threads)));
        }
        else
        {
            log?.Invoke($"The native kernel library is unavailable, so the managed SIMD backend stands in for it.{Environment.NewLine}{failure.Message}");
            candidates.Add(new("simd", "simd", $"simd threads {threads} cores {Environment.ProcessorCount}", () => Named("simd", threads)));
        }
        var device = OpenClDevices.Choose(null, out var reason);
        if (device is not null)
        {
            candidates.Add(new("opencl", $"opencl ({device.Name})", $"opencl {device.PlatformName} {device.Name}", () => new OpenClBackend(device)));
        }
        else
        {
            log?.Invoke($"auto: no OpenCL device to consider ({reason})");
        }

        if (candidates.Count == 1 || measure is null)
        {
            if (candidates.Count > 1)
                log?.Invoke($"auto: OpenCL ({device!.Name}) was not measured (nothing to measure it with), so it is not taken; name it with --backend opencl");
            return Announce(candidates[0].Create(), log);
        }

        string cacheFile = Path.Combine(CacheFolder, Key(measure.ModelKey, candidates) + ".txt");
        if (ReadDecision(cacheFile) is { } cached && candidates.FirstOrDefault(c => c.Name == cached.Name) is { } known)
        {
            log?.Invoke($"auto: {cached.Summary} (measured before on this machine for this model; delete {cacheFile} to measure again)");
            return Announce(known.Create(), log);
        }

        // Each candidate is created once: the fastest is returned as measured, the others disposed.
        var measured = new List<(Candidate Candidate, Backend Backend, double Seconds)>();
        foreach (var candidate in candidates)
        {
            Backend? backend = null;
            try
            {
                backend = candidate.Create();
                measured.Add((candidate, backend, measure.SecondsPerStep(backend)));
            }
            catch (Exception e) when (e is ClException or InvalidOperationException or NativeLibraryUnavailableException)
            {
                backend?.Dispose();
                log?.Invoke($"auto: {candidate.Name} could not run a step ({e.Message}); it is not considered");
            }
        }
        if (measured.Count == 0)
            return Announce(candidates[0].Create(), log);
        var fastest = measured.MinBy(m => m.Seconds);
        foreach (var other in measured.Where(m => m.Backend != fastest.Backend))
            other.Backend.Dispose();
        string summary = $"one training step of {measure.ModelKey}: " +
            string.Join(", ", measured.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Candidate.Label} {m.Seconds * 1000:F1} ms"))) +
            $"; {fastest.Candidate.Label} is the fastest";
        log?.Invoke($"auto: {summary}");
        CacheFile.TryWrite(cacheFile, fastest.Candidate.Name + "\n" + summary + "\n");
        return Announce(fastest.Backend, log);
    }

    private static Backend Announce(Backend backend, Action<string>? log)
    {
        log?.Invoke($"backend: {Describe(backend)}");
        return backend;
    }

    // The decision's key: the model, and every candidate as this machine has it (library build, device, driver).
    private static string Key(string modelKey, List<Candidate> candidates) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", [modelKey, Environment.MachineName, .. candidates.Select(c => c.Identity)]))))[..24];

    private static (string Name, string Summary)? ReadDecision(string path) =>
        CacheFile.TryReadText(path)?.Split('\n') is [var name, var summary, ..] && Names.Contains(name) ? (name, summary) : null;

    /// <summary>
    /// Seconds per training step of a model on a backend: <paramref name="create"/>
    /// builds the model there; one step warms up (kernel builds, first allocations), then the median of
    /// three, each waited for. Inputs are random: only the time matters. On OpenCL every layer shape gets its own
    /// program in the warm-up step, as a training run's shapes do within its first 20-30 steps
    /// (<see cref="OpenClBackend.SpecialiseAfter"/>): four steps would otherwise time the shape-generic programs.
    /// </summary>
    public static double TimeSteps(Backend backend, Func<Backend, Prelu.CompiledModel> create, int batch, int inputLength, int classes)
    {
        if (backend is not OpenClBackend opencl)
            return TimedSteps(backend, create, batch, inputLength, classes);
        int threshold = opencl.SpecialiseAfter;
        opencl.SpecialiseAfter = 0;
        try
        {
            return TimedSteps(backend, create, batch, inputLength, classes);
        }
        finally
        {
            opencl.SpecialiseAfter = threshold;
        }
    }

    private static double TimedSteps(Backend backend, Func<Backend, Prelu.CompiledModel> create, int batch, int inputLength, int classes)
    {
        using var model = create(backend);
        model.Initialize(1);
        var random = new Random(1);
        using var input = backend.Allocate(Enumerable.Range(0, batch * inputLength).Select(_ => (float)random.NextDouble()).ToArray());
        using var labels = backend.Allocate(Enumerable.Range(0, batch * classes).Select(i => i % classes == i / classes % classes ? 1f : 0f).ToArray());
        using var metrics = backend.Allocate(MetricSlot.Count);
        var times = new double[4];
        for (int step = 0; step < times.Length; step++)
        {
            long start = Stopwatch.GetTimestamp();
            model.ComputeGradients(input, labels, batch, (ulong)step + 1, metrics);
            backend.Synchronize();
            times[step] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        return times[1..].Order().ElementAt(1);
    }
}

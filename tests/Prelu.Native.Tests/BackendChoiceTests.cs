using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Backends;
using Prelu.Native.OpenCL;

namespace Prelu.Native.Tests;

// Creating a native backend sets the library's thread count: in the collection of the tests that set it.
[Collection(NativeSettings.Collection)]
public sealed class BackendChoiceTests
{
    [Fact]
    public void Every_listed_name_but_opencl_and_auto_makes_its_backend_and_says_so()
    {
        var log = new List<string>();
        using (var simd = BackendChoice.Create("simd", threads: 1, log.Add))
            Assert.Equal(1, Assert.IsType<SimdBackend>(simd).Threads);
        using (var managed = BackendChoice.Create("managed", threads: 0, log.Add))
            Assert.IsType<ManagedBackend>(managed);
        using (var native = BackendChoice.Create("native", threads: 2, log.Add))
            Assert.IsType<NativeBackend>(native);
        Assert.Equal(3, log.Count);
        Assert.StartsWith("backend: simd (managed, ", log[0], StringComparison.Ordinal);
        Assert.Contains(" 1 threads)", log[0], StringComparison.Ordinal);
        Assert.Equal(["auto", "opencl", "native", "simd", "managed"], BackendChoice.Names);
    }

    [Fact]
    public void An_unknown_name_is_refused_with_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => BackendChoice.Create("cuda", threads: 0));
        Assert.Contains("unknown backend 'cuda'; choose auto, opencl, native, simd, managed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_simd_backend_refuses_a_vector_width_it_cannot_run()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SimdBackend(threads: 1, vectorBits: 1024));
        Assert.Contains("0 (the widest), 128, 256 or 512 bits", e.Message, StringComparison.Ordinal);
    }

    // auto's decision with step times given (a real measurement's outcome is a figure for the docs, not a test).
    private static Backend Auto(List<string> log, string cache, double native, double opencl) =>
        WithCache(cache, () => BackendChoice.Create("auto", threads: 2, log.Add, new StepMeasure("a test model",
            backend => backend switch
            {
                NativeBackend => native,
                OpenClBackend => opencl,
                _ => throw new InvalidOperationException($"auto measured {backend.Name}, which is no candidate here"),
            })));

    private static T WithCache<T>(string folder, Func<T> action)
    {
        var before = Environment.GetEnvironmentVariable("PRELU_BACKEND_CACHE");
        Environment.SetEnvironmentVariable("PRELU_BACKEND_CACHE", folder);
        try
        {
            return action();
        }
        finally
        {
            Environment.SetEnvironmentVariable("PRELU_BACKEND_CACHE", before);
        }
    }

    [Fact]
    public void Auto_takes_the_backend_whose_measured_step_is_faster_says_both_times_and_remembers()
    {
        var cache = Directory.CreateTempSubdirectory("prelu-backend-choice-").FullName;
        var log = new List<string>();
        using (var backend = Auto(log, cache, native: 0.068, opencl: 0.104))
            Assert.IsType<NativeBackend>(backend);
        var line = Assert.Single(log, l => l.StartsWith("auto: one training step", StringComparison.Ordinal));
        Assert.Matches(@"^auto: one training step of a test model: native 68\.0 ms, opencl \(.+\) 104\.0 ms; native is the fastest$", line);

        // Measured once per machine and model: the second choice reads the decision, whatever a step takes now.
        log.Clear();
        using (var again = Auto(log, cache, native: 1, opencl: 0.001))
            Assert.IsType<NativeBackend>(again);
        Assert.Contains(log, l => l.Contains("measured before on this machine for this model", StringComparison.Ordinal));

        // A faster OpenCL device is taken: the choice follows the measurement, not a preference.
        log.Clear();
        using (var faster = Auto(log, Directory.CreateTempSubdirectory("prelu-backend-choice-").FullName, native: 0.068, opencl: 0.001))
            Assert.IsType<OpenClBackend>(faster);
        Assert.Contains(log, l => l.EndsWith("is the fastest", StringComparison.Ordinal) && l.Contains("; opencl (", StringComparison.Ordinal));
    }

    [Fact]
    public void Auto_without_a_step_to_measure_takes_the_c_library_and_says_opencl_was_not_measured()
    {
        var log = new List<string>();
        using var backend = BackendChoice.Create("auto", threads: 2, log.Add);
        Assert.IsType<NativeBackend>(backend);
        Assert.Contains(log, l => l.Contains("was not measured", StringComparison.Ordinal));
    }
}

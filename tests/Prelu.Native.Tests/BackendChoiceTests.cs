using Prelu.Backends;
using Prelu.Native.Backends;

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
}

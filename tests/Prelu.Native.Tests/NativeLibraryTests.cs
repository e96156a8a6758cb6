using Prelu.Native.Interop;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

[Collection(NativeSettings.Collection)]
public sealed class NativeLibraryTests
{
    [Fact]
    public void The_library_built_by_dotnet_build_loads_next_to_the_tests()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, PreluNativeLibrary.FileName)));
        Assert.True(PreluNativeLibrary.TryEnsureLoaded(out var failure), failure?.Message);
    }

    [Fact]
    public void It_reports_its_version_and_kernels()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+$", PreluNativeLibrary.Version);
        Assert.Contains("libprelu", PreluNativeLibrary.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_thread_count_can_be_set()
    {
        int before = PreluNativeLibrary.Threads;
        try
        {
            PreluNativeLibrary.Threads = 1;
            Assert.Equal(1, PreluNativeLibrary.Threads);
            PreluNativeLibrary.Threads = 0;
            Assert.Equal(Environment.ProcessorCount, PreluNativeLibrary.Threads);
        }
        finally
        {
            PreluNativeLibrary.Threads = before;
        }
    }

    [Fact]
    public void It_uses_the_best_kernels_the_cpu_runs_and_each_set_can_be_selected()
    {
        // What the CPU offers, not what an earlier test left: this test selects every set itself.
        bool avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        bool avx512 = avx2 && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        bool neon = System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
        var best = avx512 ? NativeKernelSet.Avx512 : avx2 ? NativeKernelSet.Avx2 : neon ? NativeKernelSet.Neon : NativeKernelSet.Portable;
        try
        {
            PreluNativeLibrary.SelectKernels(null);
            Assert.Equal(best, PreluNativeLibrary.KernelsInUse);
            Assert.Contains(PreluNativeLibrary.Describe(best) + " kernels", PreluNativeLibrary.Describe(), StringComparison.Ordinal);
            foreach (var set in Enum.GetValues<NativeKernelSet>())
            {
                // The x86 sets run up to the best; NEON only on arm64, where it is the best.
                bool runs = set == NativeKernelSet.Portable || set == best || (best != NativeKernelSet.Neon && set < best);
                Assert.Equal(runs, PreluNativeLibrary.CanRun(set));
                if (runs)
                {
                    PreluNativeLibrary.SelectKernels(set);
                    Assert.Equal(set, PreluNativeLibrary.KernelsInUse);
                }
                else
                {
                    var refused = Assert.Throws<PlatformNotSupportedException>(() => PreluNativeLibrary.SelectKernels(set));
                    Assert.Contains(PreluNativeLibrary.Describe(set), refused.Message, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            PreluNativeLibrary.SelectKernels(null);
        }
    }

    [Fact]
    public void A_missing_library_is_a_message_that_says_where_it_looked_and_how_to_build_it()
    {
        var nowhere = Path.Combine(Path.GetTempPath(), "prelu-nowhere", PreluNativeLibrary.FileName);

        var error = Assert.Throws<NativeLibraryUnavailableException>(
            () => PreluNativeLibrary.Locate([nowhere, "libprelu-that-does-not-exist.so"]));

        Assert.Equal(2, error.Searched.Count);
        Assert.Contains($"{nowhere} (no such file)", error.Message, StringComparison.Ordinal);
        Assert.Contains("libprelu-that-does-not-exist.so on the system library path", error.Message, StringComparison.Ordinal);
        Assert.Contains("cmake -S . -B artifacts/native", error.Message, StringComparison.Ordinal);
        // A platform the package carries no library for is named, with the ones it does carry.
        Assert.Contains($"for runtime identifier {System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}", error.Message, StringComparison.Ordinal);
        Assert.Contains("the package carries it for linux-x64, win-x64, linux-arm64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_of_another_abi_is_refused_naming_both_versions()
    {
        Assert.Null(PreluNativeLibrary.AbiMismatch(PreluNativeLibrary.ExpectedAbiVersion));
        var refused = PreluNativeLibrary.AbiMismatch(9);
        Assert.NotNull(refused);
        Assert.Contains($"speaks ABI version 9; this program needs {PreluNativeLibrary.ExpectedAbiVersion}", refused.Message, StringComparison.Ordinal);
        // The library built here is this ABI's, as native/include/prelu.h says.
        var header = File.ReadAllText(Path.Combine(Readme.RepositoryRoot(), "native", "include", "prelu.h"));
        Assert.Contains($"#define PRELU_ABI_VERSION {PreluNativeLibrary.ExpectedAbiVersion}", header, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_library_is_reported_as_such()
    {
        var fake = Path.Combine(Directory.CreateTempSubdirectory("prelu-fake-").FullName, PreluNativeLibrary.FileName);
        File.WriteAllText(fake, "not an ELF file");

        var error = Assert.Throws<NativeLibraryUnavailableException>(() => PreluNativeLibrary.Locate([fake]));

        Assert.Contains(fake, error.Message, StringComparison.Ordinal);
    }
}

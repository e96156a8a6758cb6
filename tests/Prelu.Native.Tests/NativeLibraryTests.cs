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
        // It says which file it loaded, unless PRELU_NATIVE_LIBRARY named another.
        if (Environment.GetEnvironmentVariable(PreluNativeLibrary.PathEnvironmentVariable) is null)
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, PreluNativeLibrary.FileName), PreluNativeLibrary.LoadedFrom);
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

    // The FLOPs one call of the C kernels reported executing.
    private static long Executed(Action call)
    {
        long before = PreluNativeLibrary.FlopsExecuted;
        call();
        return PreluNativeLibrary.FlopsExecuted - before;
    }

    [Fact]
    public void Each_path_counts_the_flops_it_executes()
    {
        using var backend = NativeSettings.Create(null, threads: 2);
        try
        {
            // A dense layer: a few rows by the streaming path, a batch by the product; 2 per multiply-add either way.
            foreach (int batch in new[] { 3, 20 })
            {
                var dense = new Prelu.Kernels.DenseShape(batch, 17, 11);
                using var x = backend.Allocate(Det.Floats(dense.InputLength, 1));
                using var k = backend.Allocate(Det.Floats(dense.KernelLength, 2));
                using var y = backend.Allocate(dense.OutputLength);
                Assert.Equal(2L * batch * 17 * 11, Executed(() => backend.DenseForward(dense, Prelu.Kernels.FusedActivation.Linear, x, k, null, null, null, y)));
            }

            // A 3x2 convolution: the product over every output and its window.
            var conv = new Prelu.Kernels.Conv2DShape(2, 7, 6, 3, 5, 3, 2);
            using (var x = backend.Allocate(Det.Floats(conv.InputLength, 3)))
            using (var k = backend.Allocate(Det.Floats(conv.KernelLength, 4)))
            using (var y = backend.Allocate(conv.OutputLength))
                Assert.Equal(2L * 2 * 5 * 5 * (3 * 2 * 3) * 5, Executed(() => backend.Conv2DForward(conv, Prelu.Kernels.FusedActivation.Linear, x, k, null, null, null, y)));

            // A 3x3 convolution of 32 channels on the AVX-512 and AVX2 builds: Winograd's F(2x2, 3x3) on a 5 x 5 map (where
            // F(4x4) does no fewer products), its kernel transformed on the first call (96 flops per input channel and filter),
            // then per 2x2 tile 32 adds per channel for the patch, 16 products of 2 Cin F and 24 adds per filter for the
            // outputs: about 60% of the direct 2 x 9 Cin F per output. On an 11 x 11 map F(4x4, 3x3): 576 flops per input
            // channel and filter for the kernel, per 4x4 tile 144 per channel, 36 products and 100 per filter.
            foreach (var set in new[] { NativeKernelSet.Avx512, NativeKernelSet.Avx2 })
            {
                if (!PreluNativeLibrary.CanRun(set)) continue;
                PreluNativeLibrary.SelectKernels(set);
                foreach (var (size, tilesPerImage, kernelFlops, perTile) in new[]
                {
                    (7, 3 * 3, 96L, 32 * 32 + 24 * 64 + 16 * 2 * 32 * 64L),
                    (13, 3 * 3, 576L, 144 * 32 + 100 * 64 + 36 * 2 * 32 * 64L),
                })
                {
                    var wide = new Prelu.Kernels.Conv2DShape(2, size, size, 32, 64, 3, 3);
                    using var x = backend.Allocate(Det.Floats(wide.InputLength, 5));
                    using var k = backend.Allocate(Det.Floats(wide.KernelLength, 6));
                    using var y = backend.Allocate(wide.OutputLength);
                    long first = Executed(() => backend.Conv2DForward(wide, Prelu.Kernels.FusedActivation.Linear, x, k, null, null, null, y));
                    Assert.Equal(kernelFlops * 32 * 64 + 2 * tilesPerImage * perTile, first);
                    int map = size - 2;
                    Assert.True(first < 2L * 2 * map * map * 9 * 32 * 64, $"Winograd executes fewer than the direct product on a {map} x {map} map ({set})");
                }
            }
        }
        finally
        {
            PreluNativeLibrary.SelectKernels(null);
        }
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

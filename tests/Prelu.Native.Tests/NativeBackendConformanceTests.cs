using Prelu.Native.Backends;
using Prelu.Native.Interop;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

// The C kernels against PyTorch and the reference, for every build of the kernels (AVX-512, AVX2, portable)
// at one and two threads. Each class selects its setting in its constructor; they share one collection so
// that they never run at the same time. The C library runs every operation but the constraints, which go
// through the reference in place. A CPU without AVX-512F cannot run the AVX-512 classes: their constructor
// says so, and scripts/test leaves them out on such a CPU.

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512ConformanceTests() : BackendConformanceTests(NativeSettings.Create(NativeKernelSet.Avx512, threads: 2), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512OneThreadConformanceTests() : BackendConformanceTests(NativeSettings.Create(NativeKernelSet.Avx512, threads: 1), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx2ConformanceTests() : BackendConformanceTests(NativeSettings.Create(NativeKernelSet.Avx2, threads: 2), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx2OneThreadConformanceTests() : BackendConformanceTests(NativeSettings.Create(NativeKernelSet.Avx2, threads: 1), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativePortableConformanceTests() : BackendConformanceTests(NativeSettings.Create(NativeKernelSet.Portable, threads: 2), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativePortableOneThreadConformanceTests() : BackendConformanceTests(NativeSettings.Create(NativeKernelSet.Portable, threads: 1), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512AgreementTests() : BackendAgreementTests(NativeSettings.Create(NativeKernelSet.Avx512, threads: 2), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512OneThreadAgreementTests() : BackendAgreementTests(NativeSettings.Create(NativeKernelSet.Avx512, threads: 1), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx2AgreementTests() : BackendAgreementTests(NativeSettings.Create(NativeKernelSet.Avx2, threads: 2), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx2OneThreadAgreementTests() : BackendAgreementTests(NativeSettings.Create(NativeKernelSet.Avx2, threads: 1), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativePortableAgreementTests() : BackendAgreementTests(NativeSettings.Create(NativeKernelSet.Portable, threads: 2), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativePortableOneThreadAgreementTests() : BackendAgreementTests(NativeSettings.Create(NativeKernelSet.Portable, threads: 1), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

// One model's Predict from four threads at once, the study's model (its fused convolution and pooling, Winograd) too.
[Collection(NativeSettings.Collection)]
public sealed class NativeConcurrentPredictTests() : ConcurrentPredictTests(NativeSettings.Create(null, threads: 2),
    [typeof(ResidualGraphNet), typeof(NormalizedNet), typeof(InvertedResidualNet), typeof(StudyModel)]),
    IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeNumericalFaultTests() : NumericalFaultTests(NativeSettings.Create(null, threads: 2)), IClassFixture<NativeSettings.Restore>;

/// <summary>
/// Thread count and kernel choice are process-wide in the C library: tests that set them run one at a
/// time, each sets what it needs, and a class that forces the portable kernels puts the library back as
/// it found it (its <see cref="Restore"/> fixture), so that no test sees another's setting.
/// </summary>
[CollectionDefinition(Collection, DisableParallelization = true)]
public sealed class NativeSettings
{
    public const string Collection = "native library settings";

    public static readonly HostFallbackDeclaration Fallbacks = new(Constraints: true);

    /// <summary>The library's defaults again (the best kernels, one thread per core) when a class that changed them ends.</summary>
    public sealed class Restore : IDisposable
    {
        public void Dispose()
        {
            PreluNativeLibrary.SelectKernels(null);
            PreluNativeLibrary.Threads = 0;
        }
    }

    /// <exception cref="PlatformNotSupportedException">This CPU cannot run <paramref name="set"/>.</exception>
    /// <summary>A backend on <paramref name="set"/>'s kernels (null: the best this CPU runs) at <paramref name="threads"/> threads.</summary>
    public static NativeBackend Create(NativeKernelSet? set, int threads)
    {
        var backend = new NativeBackend(threads);
        PreluNativeLibrary.SelectKernels(set);
        return backend;
    }
}

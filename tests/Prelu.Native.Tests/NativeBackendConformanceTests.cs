using Prelu.Native.Backends;
using Prelu.Native.Interop;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

// The C kernels against PyTorch, with every thread count and instruction set. Each class forces its
// setting in its constructor; they share one collection so that they never run at the same time.
// The C library runs every operation but the constraints, which go through the reference in place.

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendConformanceTests() : BackendConformanceTests(NativeSettings.Create(threads: 2, portable: false), NativeSettings.Fallbacks);

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendOneThreadConformanceTests() : BackendConformanceTests(NativeSettings.Create(threads: 1, portable: false), NativeSettings.Fallbacks);

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendPortableConformanceTests() : BackendConformanceTests(NativeSettings.Create(threads: 2, portable: true), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

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

    /// <summary>The library's defaults again (best kernels, one thread per core) when a class that changed them ends.</summary>
    public sealed class Restore : IDisposable
    {
        public void Dispose()
        {
            PreluNativeLibrary.ForcePortableKernels(false);
            PreluNativeLibrary.Threads = 0;
        }
    }

    public static NativeBackend Create(int threads, bool portable)
    {
        var backend = new NativeBackend(threads);
        PreluNativeLibrary.ForcePortableKernels(portable);
        return backend;
    }
}

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendAgreementTests() : BackendAgreementTests(NativeSettings.Create(threads: 2, portable: false), NativeSettings.Fallbacks);

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendOneThreadAgreementTests() : BackendAgreementTests(NativeSettings.Create(threads: 1, portable: false), NativeSettings.Fallbacks);

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendPortableAgreementTests() : BackendAgreementTests(NativeSettings.Create(threads: 2, portable: true), NativeSettings.Fallbacks),
    IClassFixture<NativeSettings.Restore>;

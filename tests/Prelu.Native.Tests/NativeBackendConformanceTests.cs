using Prelu.Native.Backends;
using Prelu.Native.Interop;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

// The C kernels against PyTorch, with every thread count and instruction set. Each class forces its
// setting in its constructor; they share one collection so that they never run at the same time.

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendConformanceTests() : BackendConformanceTests(NativeSettings.Create(threads: 2, portable: false));

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendOneThreadConformanceTests() : BackendConformanceTests(NativeSettings.Create(threads: 1, portable: false));

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendPortableConformanceTests() : BackendConformanceTests(NativeSettings.Create(threads: 2, portable: true));

/// <summary>Thread count and kernel choice are process-wide in the C library: tests that set them run one at a time.</summary>
[CollectionDefinition(Collection, DisableParallelization = true)]
public sealed class NativeSettings
{
    public const string Collection = "native library settings";

    public static NativeBackend Create(int threads, bool portable)
    {
        var backend = new NativeBackend(threads);
        PreluNativeLibrary.ForcePortableKernels(portable);
        return backend;
    }
}

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendAgreementTests() : BackendAgreementTests(NativeSettings.Create(threads: 2, portable: false));

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendOneThreadAgreementTests() : BackendAgreementTests(NativeSettings.Create(threads: 1, portable: false));

[Collection(NativeSettings.Collection)]
public sealed class NativeBackendPortableAgreementTests() : BackendAgreementTests(NativeSettings.Create(threads: 2, portable: true));

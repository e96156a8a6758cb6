using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Kernels;

// The managed SIMD backend held to the same tests as every backend (PyTorch's answers, and the reference on
// random shapes) with each GEMM vector width this CPU accelerates and several thread counts (different
// splits of the sums across threads).

/// <summary>The managed SIMD backend, its widest vectors, two threads, against PyTorch.</summary>
public sealed class SimdBackendConformanceTests() : BackendConformanceTests(new SimdBackend(threads: 2));

/// <summary>The managed SIMD backend, 256-bit vectors, one thread, against PyTorch.</summary>
public sealed class SimdBackend256ConformanceTests() : BackendConformanceTests(SimdWidths.Create(threads: 1, vectorBits: 256));

/// <summary>The managed SIMD backend, 128-bit vectors, two threads, against PyTorch.</summary>
public sealed class SimdBackend128ConformanceTests() : BackendConformanceTests(SimdWidths.Create(threads: 2, vectorBits: 128));

/// <summary>The managed SIMD backend, its widest vectors, two threads, against the reference on random shapes.</summary>
public sealed class SimdBackendAgreementTests() : BackendAgreementTests(new SimdBackend(threads: 2));

/// <summary>The managed SIMD backend, 256-bit vectors, three threads (uneven ranges), against the reference.</summary>
public sealed class SimdBackend256AgreementTests() : BackendAgreementTests(SimdWidths.Create(threads: 3, vectorBits: 256));

/// <summary>The managed SIMD backend, 128-bit vectors, one thread, against the reference.</summary>
public sealed class SimdBackend128AgreementTests() : BackendAgreementTests(SimdWidths.Create(threads: 1, vectorBits: 128));

internal static class SimdWidths
{
    /// <summary>A SIMD backend with at most <paramref name="vectorBits"/>: a CPU without them runs its widest (and the widest is tested anyway).</summary>
    public static SimdBackend Create(int threads, int vectorBits) =>
        new(threads, Math.Min(vectorBits, new SimdBackend().VectorBits));
}

public sealed class SimdConcurrentPredictTests() : ConcurrentPredictTests(new SimdBackend(threads: 2));

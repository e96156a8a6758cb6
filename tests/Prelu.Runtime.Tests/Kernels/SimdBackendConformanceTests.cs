using Prelu.Backends;
using Prelu.Kernels;
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

/// <summary>
/// The SIMD backend's average pooling gives the reference's bits: each image is one thread's, and every window's sum
/// and share are taken in the reference's order ('valid' and 'same', strided, global).
/// </summary>
public sealed class SimdAveragePoolingTests
{
    [Theory]
    [InlineData(3, 7, 6, 5, 2, 2, 2, 2, "valid")]
    [InlineData(2, 7, 7, 19, 3, 3, 2, 2, "same")]
    [InlineData(4, 5, 9, 33, 2, 3, 1, 2, "same")]
    [InlineData(2, 6, 6, 17, 6, 6, 6, 6, "valid")]
    public void Forward_and_backward_give_the_references_bits(int batch, int height, int width, int channels, int poolHeight, int poolWidth,
        int strideY, int strideX, string padding)
    {
        var shape = new Pool2DShape(batch, height, width, channels, poolHeight, poolWidth, strideY, strideX,
            padding == "same" ? Padding.Same : Padding.Valid);
        using var reference = new ManagedBackend();
        using var simd = new SimdBackend(threads: 2);
        var results = new Backend[] { reference, simd }.Select(backend =>
        {
            using var x = backend.Allocate(Det.Floats(shape.InputLength, 81));
            using var y = backend.Allocate(shape.OutputLength);
            using var dy = backend.Allocate(Det.Floats(shape.OutputLength, 82));
            using var dx = backend.Allocate(shape.InputLength);
            backend.AvgPool2DForward(shape, x, y);
            backend.AvgPool2DBackward(shape, dy, dx);
            return (Output: backend.ToArray(y), Gradient: backend.ToArray(dx));
        }).ToArray();
        Assert.Equal(results[0].Output, results[1].Output);
        Assert.Equal(results[0].Gradient, results[1].Gradient);
    }
}

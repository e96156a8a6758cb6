using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Interop;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// The C library's Winograd paths against the managed reference, on its AVX-512 and AVX2 builds (the ones that take them,
/// their transforms written once over vectors of 16 and 8 lanes) at one and two threads: 3x3 convolutions of stride 1 over 8 or more input channels, forward and backward (the kernel gradient
/// through the transforms' transposes, the input gradient as a Winograd convolution of the output gradient where there
/// are 8 or more filters), 'same' and 'valid', odd maps whose last tiles hang over the edge, channels that end in partial
/// vectors, and any activation. Kept out of the shared agreement suite: every new shape costs OpenCL a program build. The
/// forward is held to <see cref="Close.Winograd4Forward"/>: the maps where F(4x4, 3x3) does fewer products take it.
/// </summary>
public abstract class WinogradAgreementTests(NativeKernelSet kernels, int threads) : IDisposable
{
    private readonly Backend _backend = NativeSettings.Create(kernels, threads);
    private readonly ManagedBackend _reference = new();

    public void Dispose()
    {
        _backend.Dispose();
        _reference.Dispose();
        GC.SuppressFinalize(this);
    }

    [Theory]
    [InlineData(3, 7, 7, 64, 64, Padding.Same)]   // the residual network's last blocks: 7 x 7, 16 tiles hanging over two edges
    [InlineData(2, 14, 14, 32, 32, Padding.Same)] // its first blocks
    [InlineData(5, 9, 11, 12, 8, Padding.Same)]   // odd maps, 12 channels in, the fewest filters for the input gradient's transforms
    [InlineData(2, 6, 6, 16, 7, Padding.Same)]    // 7 filters: the input gradient by the product and col2im, the kernel gradient by the transforms
    [InlineData(40, 6, 6, 16, 24, Padding.Valid)] // more tiles than one chunk of the kernel gradient's products: chunks across images
    [InlineData(2, 26, 26, 32, 32, Padding.Valid)] // bn-prelu's second convolution, unpooled
    public void A_3x3_convolution_of_stride_1_agrees_with_the_reference(int batch, int height, int width, int inChannels, int filters, Padding padding) =>
        BackendAgreementTests.ConvolutionAgrees(_backend, _reference, NativeSettings.Fallbacks,
            new Conv2DShape(batch, height, width, inChannels, filters, 3, 3, 1, 1, padding), FusedActivation.Linear, firstLayer: false, seed: 62,
            Close.Winograd4Forward);

    // The same paths with an activation (its backward runs before the transforms), and for a first layer without the input gradient.
    [Theory]
    [MemberData(nameof(BackendAgreementTests.Seeds), MemberType = typeof(BackendAgreementTests))]
    public void With_any_activation_it_agrees_with_the_reference(int seed)
    {
        var random = new Random(seed + 900);
        var s = new Conv2DShape(random.Next(1, 5), random.Next(3, 12), random.Next(3, 12), random.Next(8, 40), random.Next(1, 40), 3, 3, 1, 1,
            random.Next(2) == 0 ? Padding.Valid : Padding.Same);
        BackendAgreementTests.ConvolutionAgrees(_backend, _reference, NativeSettings.Fallbacks, s,
            BackendAgreementTests.RandomActivation(random, s.Batch, [s.OutHeight, s.OutWidth, s.Filters]), firstLayer: random.Next(3) == 0, seed,
            Close.Winograd4Forward);
    }
}

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512WinogradOneThreadTests() : WinogradAgreementTests(NativeKernelSet.Avx512, threads: 1), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512WinogradTwoThreadTests() : WinogradAgreementTests(NativeKernelSet.Avx512, threads: 2), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx2WinogradOneThreadTests() : WinogradAgreementTests(NativeKernelSet.Avx2, threads: 1), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx2WinogradTwoThreadTests() : WinogradAgreementTests(NativeKernelSet.Avx2, threads: 2), IClassFixture<NativeSettings.Restore>;

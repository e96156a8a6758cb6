using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Interop;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// The C library's fused convolution + BatchNormalization + activation (the normalization and the activation in one pass
/// each way, <c>prelu_batchnorm_activation_forward</c>/<c>_backward</c>) on every instruction-set build at one and two
/// threads: against the managed reference on random shapes (any window, stride and padding, filters that end in partial
/// vectors, odd maps, every activation and PReLU sharing, training and evaluation, with and without gamma and beta), and
/// against the three calls it replaces on the same build in training: the same bits forward, and backward wherever the
/// threads divide the batch (then its sums are taken over the same rows in the same order); and against PyTorch's
/// BatchNormalization through an identity convolution. In evaluation the normalization is folded into the convolution's
/// kernel and bias (<c>prelu_conv2d_batchnorm_inference</c>). Kept out of the shared agreement suite: every new shape costs
/// OpenCL a program build, and OpenCL runs the three calls themselves.
/// </summary>
public abstract class ConvBatchNormAgreementTests(NativeKernelSet kernels, int threads) : IDisposable
{
    private readonly Backend _backend = NativeSettings.Create(kernels, threads);
    private readonly ManagedBackend _reference = new();

    public void Dispose()
    {
        _backend.Dispose();
        _reference.Dispose();
        GC.SuppressFinalize(this);
    }

    private static (Conv2DShape Shape, FusedActivation Activation, bool Training, bool Affine) Draw(int seed, int batchMultiple)
    {
        var random = new Random(seed + 1300);
        int kh = random.Next(1, 4), kw = random.Next(1, 4);
        var s = new Conv2DShape(batchMultiple * random.Next(1, 4), random.Next(kh, 12), random.Next(kw, 12), random.Next(1, 20), random.Next(1, 40),
            kh, kw, random.Next(1, 3), random.Next(1, 3), random.Next(2) == 0 ? Padding.Valid : Padding.Same);
        var act = BackendAgreementTests.RandomActivation(random, s.Batch, [s.OutHeight, s.OutWidth, s.Filters]);
        return (s, act, random.Next(4) > 0, random.Next(3) > 0);
    }

    [Theory]
    [MemberData(nameof(BackendAgreementTests.Seeds), MemberType = typeof(BackendAgreementTests))]
    public void It_agrees_with_the_reference_on_random_shapes(int seed)
    {
        var (s, act, training, affine) = Draw(seed, batchMultiple: 1);
        BackendAgreementTests.ConvBatchNormAgrees(_backend, _reference, s, act, training, affine, seed);
    }

    // The bn-prelu model's blocks: 32 and 64 filters (whole vectors), channel-wise PReLU, 'valid' 3x3 convolutions.
    [Theory]
    [InlineData(3, 28, 28, 1, 32)]
    [InlineData(2, 12, 12, 32, 64)]
    public void The_bn_prelu_models_blocks_agree_with_the_reference(int batch, int height, int width, int inChannels, int filters)
    {
        var s = new Conv2DShape(batch, height, width, inChannels, filters, 3, 3, 1, 1, Padding.Valid);
        var act = FusedActivation.Parametric(new PReluShape(batch, [s.OutHeight, s.OutWidth, filters], [1, 2]));
        BackendAgreementTests.ConvBatchNormAgrees(_backend, _reference, s, act, training: true, affine: true, seed: 17);
    }

    // PyTorch's BatchNormalization cases (tests/reference/fixture.safetensors) through the fused call: a 1x1 convolution
    // whose kernel is the identity hands the normalization the input unchanged, and its input gradient is the
    // normalization's. Training (output, moving statistics, gradients) and evaluation (the folded convolution).
    [Theory]
    [InlineData("batchnorm_map", new[] { 3, 4, 5, 6 }, 280, true, 0.99f, 1e-3f)]
    [InlineData("batchnorm_flat", new[] { 5, 1, 1, 7 }, 290, true, 0.99f, 1e-3f)]
    [InlineData("batchnorm_plain", new[] { 4, 3, 3, 2 }, 300, false, 0.9f, 1e-2f)]
    public void It_matches_pytorchs_batch_normalization_through_an_identity_convolution(string name, int[] dims, int seed, bool affine, float momentum,
        float epsilon)
    {
        int channels = dims[3];
        var s = new Conv2DShape(dims[0], dims[1], dims[2], channels, channels, 1, 1, 1, 1, Padding.Valid);
        var identity = new float[channels * channels];
        for (int c = 0; c < channels; c++)
            identity[c * channels + c] = 1f;
        var movingMeanBefore = Det.Floats(channels, (ulong)seed + 3, -0.2, 0.2);
        var movingVarianceBefore = Det.Floats(channels, (ulong)seed + 4, 0.5, 2.0);
        using var x = _backend.Allocate(Det.Floats(s.InputLength, (ulong)seed, -2, 3));
        using var kernel = _backend.Allocate(identity);
        using var gamma = _backend.Allocate(Det.Floats(channels, (ulong)seed + 1, 0.5, 1.5));
        using var beta = _backend.Allocate(Det.Floats(channels, (ulong)seed + 2, -0.5, 0.5));
        using var movingMean = _backend.Allocate(movingMeanBefore);
        using var movingVariance = _backend.Allocate(movingVarianceBefore);
        using var convOutput = _backend.Allocate(s.OutputLength);
        using var y = _backend.Allocate(s.OutputLength);
        using var dy = _backend.Allocate(Det.Floats(s.OutputLength, (ulong)seed + 5));
        using var workspace = _backend.Allocate(s.OutputLength);
        using var dx = _backend.Allocate(s.InputLength);
        using var dk = _backend.Allocate(s.KernelLength);
        using var dgamma = _backend.Allocate(channels);
        using var dbeta = _backend.Allocate(channels);
        var norm = new BatchNormAfter(momentum, epsilon, affine ? gamma : null, affine ? beta : null, movingMean, movingVariance);

        _backend.Conv2DBatchNormForward(s, norm, training: true, FusedActivation.Linear, x, kernel, null, null, convOutput, null, y);
        _backend.Conv2DBatchNormBackward(s, norm, FusedActivation.Linear, x, kernel, null, convOutput, null, dy, workspace, dx, dk, null,
            affine ? dgamma : null, affine ? dbeta : null, null);

        Close.Assert(Fixture.Get($"{name}.y"), _backend.ToArray(y), Close.Forward, $"{name} training output");
        Close.Assert(Fixture.Get($"{name}.dx"), _backend.ToArray(dx), Close.Gradient, $"{name} input gradient");
        if (affine)
        {
            Close.Assert(Fixture.Get($"{name}.dgamma"), _backend.ToArray(dgamma), Close.Gradient, $"{name} gamma gradient");
            Close.Assert(Fixture.Get($"{name}.dbeta"), _backend.ToArray(dbeta), Close.Gradient, $"{name} beta gradient");
        }
        Close.Assert(Fixture.Get($"{name}.moving_mean"), _backend.ToArray(movingMean), Close.Forward, $"{name} moving mean");
        Close.Assert(Fixture.Get($"{name}.moving_variance"), _backend.ToArray(movingVariance), Close.Forward, $"{name} moving variance");

        _backend.Upload(movingMeanBefore, movingMean);
        _backend.Upload(movingVarianceBefore, movingVariance);
        _backend.Conv2DBatchNormForward(s, norm, training: false, FusedActivation.Linear, x, kernel, null, null, convOutput, null, y);
        Close.Assert(Fixture.Get($"{name}.inference"), _backend.ToArray(y), Close.Forward, $"{name} inference output");
        Assert.Equal(movingMeanBefore, _backend.ToArray(movingMean));
    }

    // Evaluation folds the normalization into the convolution's kernel and bias: other roundings, the reference's values.
    [Theory]
    [MemberData(nameof(BackendAgreementTests.Seeds), MemberType = typeof(BackendAgreementTests))]
    public void In_evaluation_the_normalization_folded_into_the_convolution_agrees_with_the_reference(int seed)
    {
        var (s, act, _, affine) = Draw(seed, batchMultiple: 1);
        BackendAgreementTests.ConvBatchNormAgrees(_backend, _reference, s, act, training: false, affine, seed);
    }

    [Theory]
    [MemberData(nameof(BackendAgreementTests.Seeds), MemberType = typeof(BackendAgreementTests))]
    public void In_training_it_gives_the_bits_of_the_three_calls_it_replaces(int seed)
    {
        var (s, act, _, affine) = Draw(seed, batchMultiple: threads);
        GivesTheBitsOfTheThreeCalls(s, act, affine, seed);
    }

    // Whole groups of 32 filters after a ReLU, a LeakyReLU or a channel-wise PReLU: the AVX-512 build's backward takes each
    // sample's rows in registers (batchnorm.h's batchnorm_rectifier_rows). The three calls' bits, and the reference's values.
    [Theory]
    [InlineData(ActivationKind.Relu, 32)]
    [InlineData(ActivationKind.LeakyRelu, 64)]
    [InlineData(ActivationKind.PRelu, 96)]
    [InlineData(ActivationKind.PRelu, 32)]
    public void Rectifiers_over_whole_groups_of_32_filters_give_the_three_calls_bits(ActivationKind kind, int filters)
    {
        var s = new Conv2DShape(2 * threads, 7, 6, 5, filters, 3, 3, 1, 1, Padding.Same);
        var act = kind switch
        {
            ActivationKind.PRelu => FusedActivation.Parametric(new PReluShape(s.Batch, [s.OutHeight, s.OutWidth, filters], [1, 2])),
            ActivationKind.LeakyRelu => FusedActivation.Leaky(0.3f),
            _ => FusedActivation.Of(kind),
        };
        GivesTheBitsOfTheThreeCalls(s, act, affine: true, seed: 23);
        BackendAgreementTests.ConvBatchNormAgrees(_backend, _reference, s, act, training: true, affine: true, seed: 23);
    }

    // Fewer than three rows (batch x positions): the forward's workspace cannot hold the normalization's three rows of terms,
    // so it keeps the normalized tensor there, and the backward reads it (batchnorm.h's batchnorm_keeps_terms). Two samples
    // of one position each: two rows, a batch that one and two threads divide.
    [Theory]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.PRelu)]
    [InlineData(ActivationKind.Elu)]
    public void Fewer_than_three_rows_keep_the_normalized_tensor_and_give_the_three_calls_bits(ActivationKind kind)
    {
        var s = new Conv2DShape(2, 3, 3, 4, 32, 3, 3, 1, 1, Padding.Valid);
        var act = kind switch
        {
            ActivationKind.PRelu => FusedActivation.Parametric(new PReluShape(s.Batch, [1, 1, 32], [1, 2])),
            ActivationKind.Elu => FusedActivation.Elu(0.7f),
            _ => FusedActivation.Of(kind),
        };
        GivesTheBitsOfTheThreeCalls(s, act, affine: true, seed: 29);
        BackendAgreementTests.ConvBatchNormAgrees(_backend, _reference, s, act, training: true, affine: true, seed: 29);
    }

    private void GivesTheBitsOfTheThreeCalls(Conv2DShape s, FusedActivation act, bool affine, int seed)
    {
        var fused = BackendAgreementTests.ConvBatchNormRun(_backend, s, act, training: true, affine, seed, fused: true);
        var apart = BackendAgreementTests.ConvBatchNormRun(_backend, s, act, training: true, affine, seed, fused: false);
        var names = BackendAgreementTests.ConvBatchNormResults;
        for (int i = 0; i < names.Length; i++)
        {
            if (i == BackendAgreementTests.NormalizedOutput && act.Kind != ActivationKind.Linear)
                continue; // the fused call's workspace: the normalization's terms
            Assert.True(fused[i].AsSpan().SequenceEqual(apart[i]), $"{s} {act.Kind}, training: the {names[i]} differs from the three calls'");
        }
    }
}

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512ConvBatchNormTests() : ConvBatchNormAgreementTests(NativeKernelSet.Avx512, threads: 2), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class NativeAvx512ConvBatchNormOneThreadTests() : ConvBatchNormAgreementTests(NativeKernelSet.Avx512, threads: 1), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class ConvBatchNormAvx2Tests() : ConvBatchNormAgreementTests(NativeKernelSet.Avx2, threads: 2), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class ConvBatchNormAvx2OneThreadTests() : ConvBatchNormAgreementTests(NativeKernelSet.Avx2, threads: 1), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class ConvBatchNormPortableTests() : ConvBatchNormAgreementTests(NativeKernelSet.Portable, threads: 2), IClassFixture<NativeSettings.Restore>;

[Collection(NativeSettings.Collection)]
public sealed class ConvBatchNormPortableOneThreadTests() : ConvBatchNormAgreementTests(NativeKernelSet.Portable, threads: 1), IClassFixture<NativeSettings.Restore>;

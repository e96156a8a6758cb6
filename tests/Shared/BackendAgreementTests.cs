using Prelu.Backends;
using Prelu.Kernels;

namespace Prelu.Tests.Shared;

/// <summary>
/// A backend against the managed reference on shapes drawn at random (odd sizes, strides, both
/// paddings, every PReLU sharing, fused and not), forward to 1e-5 and gradients to 1e-4. Each backend's
/// test project derives from this class, as from <see cref="BackendConformanceTests"/>.
/// </summary>
public abstract class BackendAgreementTests : IDisposable
{
    private readonly Backend _backend;
    private readonly HostFallbackDeclaration _onHost;
    private readonly Type[] _graphs;
    private readonly ManagedBackend _reference = new();

    /// <param name="backend">The backend under test; the suite disposes it.</param>
    /// <param name="onHost">What the backend still runs through the host reference; every case checks it.</param>
    /// <param name="graphs">The graph models it trains (all of <see cref="TestModels.Graphs"/> unless it names fewer).</param>
    protected BackendAgreementTests(Backend backend, HostFallbackDeclaration? onHost = null, Type[]? graphs = null)
    {
        _backend = backend;
        _onHost = onHost ?? HostFallbackDeclaration.None;
        _graphs = graphs ?? TestModels.Graphs;
    }

    public void Dispose()
    {
        _backend.Dispose();
        _reference.Dispose();
        GC.SuppressFinalize(this);
    }

    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    internal static FusedActivation RandomActivation(Random random, int batch, int[] dims)
    {
        switch (random.Next(6))
        {
            case 0:
                return FusedActivation.Linear;
            case 5:
                var pointwise = (ActivationKind)random.Next((int)ActivationKind.Sigmoid, (int)ActivationKind.Swish + 1);
                return pointwise == ActivationKind.Elu ? FusedActivation.Elu(0.5f + (float)random.NextDouble()) : FusedActivation.Of(pointwise);
            case 1:
                return FusedActivation.Relu;
            case 2:
                return FusedActivation.Leaky(0.1f + (float)random.NextDouble() * 0.3f);
            default:
                // Any subset of the axes may be shared: per element, channel-wise, channel-shared, mapped.
                var shared = Enumerable.Range(1, dims.Length).Where(_ => random.Next(2) == 0).ToArray();
                return FusedActivation.Parametric(new PReluShape(batch, dims, shared));
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Conv2D_fused_agrees_on_random_shapes(int seed)
    {
        var random = new Random(seed);
        var padding = random.Next(2) == 0 ? Padding.Valid : Padding.Same;
        int kh = random.Next(1, 5), kw = random.Next(1, 5);
        var s = new Conv2DShape(random.Next(1, 6), random.Next(kh, 14), random.Next(kw, 14), random.Next(1, 9), random.Next(1, 40),
            kh, kw, random.Next(1, 3), random.Next(1, 3), padding);
        var act = RandomActivation(random, s.Batch, [s.OutHeight, s.OutWidth, s.Filters]);
        ConvolutionAgrees(s, act, firstLayer: random.Next(3) == 0, seed);
    }

    // 3x3 convolutions of stride 1 over 8 or more input channels, which the C kernels' AVX-512 build computes by Winograd's
    // transforms in 2x2 tiles: maps of odd sizes end in tiles that hang over the edge, and channels in and out end in partial
    // vectors of 16. Linear, so that the output is the whole pre-activation. (The C library's own suite of these shapes,
    // 'same' and with activations, is WinogradAgreementTests: each new shape costs OpenCL a program build.)
    [Theory]
    [InlineData(2, 13, 13, 32, 64, Padding.Valid)] // the study's second convolution: an 11 x 11 map
    [InlineData(3, 10, 9, 8, 5, Padding.Valid)]    // an 8 x 7 map, the fewest channels that take the transforms; 5 filters: no Winograd input gradient
    [InlineData(1, 6, 19, 20, 33, Padding.Valid)]  // a 4 x 17 map; 20 channels in and 33 out
    [InlineData(2, 4, 4, 17, 16, Padding.Valid)]   // one tile
    [InlineData(1, 5, 6, 9, 130, Padding.Valid)]   // filters past four panels of the products' B (their A is packed) and past a whole panel
    [InlineData(1, 4, 5, 200, 40, Padding.Valid)]  // input channels past one block of the products' K, filters over two panels
    public void A_3x3_convolution_of_stride_1_agrees_with_the_reference(int batch, int height, int width, int inChannels, int filters, Padding padding) =>
        ConvolutionAgrees(new Conv2DShape(batch, height, width, inChannels, filters, 3, 3, 1, 1, padding), FusedActivation.Linear, firstLayer: false, seed: 61);

    // The convolution's forward and backward (without the input gradient for a first layer) on the backend and the reference.
    [Theory]
    [MemberData(nameof(Seeds))]
    public void DepthwiseConv2D_fused_agrees_on_random_shapes(int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var random = new Random(seed + 700);
        int kh = random.Next(1, 5), kw = random.Next(1, 5);
        var s = new DepthwiseConv2DShape(random.Next(1, 5), random.Next(kh, 13), random.Next(kw, 13), random.Next(1, 40), random.Next(1, 4),
            kh, kw, random.Next(1, 3), random.Next(1, 3), random.Next(2) == 0 ? Padding.Valid : Padding.Same);
        var act = RandomActivation(random, s.Batch, [s.OutHeight, s.OutWidth, s.OutChannels]);
        bool withBias = random.Next(3) > 0, firstLayer = random.Next(3) == 0;
        var results = new[] { _reference, _backend }.Select(backend =>
        {
            using var x = backend.Allocate(Det.Floats(s.InputLength, (ulong)seed));
            using var k = backend.Allocate(Det.Floats(s.KernelLength, (ulong)seed + 1, -0.5, 0.5));
            using var b = backend.Allocate(Det.Floats(s.BiasLength, (ulong)seed + 2));
            int alphaLength = act.PRelu?.AlphaLength ?? 1;
            using var alpha = backend.Allocate(Det.Floats(alphaLength, (ulong)seed + 3, 0, 0.5));
            using var z = backend.Allocate(s.OutputLength);
            using var y = backend.Allocate(s.OutputLength);
            using var dy = backend.Allocate(Det.Floats(s.OutputLength, (ulong)seed + 4));
            using var dx = backend.Allocate(s.InputLength);
            using var dk = backend.Allocate(s.KernelLength);
            using var db = backend.Allocate(s.BiasLength);
            using var dalpha = backend.Allocate(alphaLength);
            bool prelu = act.Kind == ActivationKind.PRelu;
            bool linear = act.Kind == ActivationKind.Linear;
            backend.DepthwiseConv2DForward(s, act, x, k, withBias ? b : null, prelu ? alpha : null, linear ? null : z, y);
            backend.DepthwiseConv2DBackward(s, act, x, k, prelu ? alpha : null, linear ? null : z, dy, firstLayer ? null : dx, dk, withBias ? db : null,
                prelu ? dalpha : null);
            return new[] { backend.ToArray(y), backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db), backend.ToArray(dalpha) };
        }).ToArray();

        string what = $"DepthwiseConv2D {s} {act.Kind} shared [{string.Join(",", act.PRelu?.SharedAxes ?? [])}] bias {withBias}";
        string[] names = ["output", "input gradient", "kernel gradient", "bias gradient", "alpha gradient"];
        for (int i = 0; i < names.Length; i++)
            Close.Assert(results[0][i], results[1][i], i == 0 ? Close.Forward : Close.Gradient, $"{what} {names[i]}");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Covers(act), what);
    }

    private void ConvolutionAgrees(Conv2DShape s, FusedActivation act, bool firstLayer, int seed) =>
        ConvolutionAgrees(_backend, _reference, _onHost, s, act, firstLayer, seed);

    /// <summary>A convolution's forward and backward on <paramref name="backend"/> and the managed reference.</summary>
    internal static void ConvolutionAgrees(Backend tested, Backend reference, HostFallbackDeclaration onHost, Conv2DShape s, FusedActivation act,
        bool firstLayer, int seed, double forwardTolerance = Close.Forward)
    {
        long fallbacksBefore = tested.HostFallbacks;
        var results = new[] { reference, tested }.Select(backend =>
        {
            using var x = backend.Allocate(Det.Floats(s.InputLength, (ulong)seed));
            using var k = backend.Allocate(Det.Floats(s.KernelLength, (ulong)seed + 1, -0.5, 0.5));
            using var b = backend.Allocate(Det.Floats(s.BiasLength, (ulong)seed + 2));
            int alphaLength = act.PRelu?.AlphaLength ?? 1;
            using var alpha = backend.Allocate(Det.Floats(alphaLength, (ulong)seed + 3, 0, 0.5));
            using var z = backend.Allocate(s.OutputLength);
            using var y = backend.Allocate(s.OutputLength);
            using var dy = backend.Allocate(Det.Floats(s.OutputLength, (ulong)seed + 4));
            using var dx = backend.Allocate(s.InputLength);
            using var dk = backend.Allocate(s.KernelLength);
            using var db = backend.Allocate(s.BiasLength);
            using var dalpha = backend.Allocate(alphaLength);
            bool prelu = act.Kind == ActivationKind.PRelu;
            bool linear = act.Kind == ActivationKind.Linear;
            backend.Conv2DForward(s, act, x, k, b, prelu ? alpha : null, linear ? null : z, y);
            backend.Conv2DBackward(s, act, x, k, prelu ? alpha : null, linear ? null : z, dy, firstLayer ? null : dx, dk, db, prelu ? dalpha : null);
            return new[] { backend.ToArray(y), backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db), backend.ToArray(dalpha) };
        }).ToArray();

        string what = $"Conv2D {s} {act.Kind} shared [{string.Join(",", act.PRelu?.SharedAxes ?? [])}]";
        Close.Assert(results[0][0], results[1][0], forwardTolerance, what + " output");
        Close.Assert(results[0][1], results[1][1], Close.Gradient, what + " input gradient");
        Close.Assert(results[0][2], results[1][2], Close.Gradient, what + " kernel gradient");
        Close.Assert(results[0][3], results[1][3], Close.Gradient, what + " bias gradient");
        Close.Assert(results[0][4], results[1][4], Close.Gradient, what + " alpha gradient");

        HostFallbackDeclaration.Check(tested, fallbacksBefore, onHost.Covers(act), $"Conv2D {s} {act.Kind}");
    }

    /// <summary>What <see cref="ConvBatchNormRun"/> returns, in its order.</summary>
    internal static readonly string[] ConvBatchNormResults = ["convolution output", "normalized output", "output", "moving mean", "moving variance",
        "input gradient", "kernel gradient", "bias gradient", "gamma gradient", "beta gradient", "alpha gradient"];

    /// <summary>
    /// The place of the normalized output in <see cref="ConvBatchNormResults"/>: with an activation, the fused call's
    /// preActivation, which in training is the backward's workspace and not a result (the C library keeps only the
    /// normalization's terms there).
    /// </summary>
    internal const int NormalizedOutput = 1;

    /// <summary>
    /// <see cref="Backend.Conv2DBatchNormForward"/> in training or evaluation and, after a training forward,
    /// <see cref="Backend.Conv2DBatchNormBackward"/>, on <paramref name="tested"/> against <paramref name="reference"/>: every
    /// result, the moving statistics and every gradient. Returns the tested backend's results for further checks.
    /// </summary>
    internal static float[][] ConvBatchNormAgrees(Backend tested, Backend reference, Conv2DShape s, FusedActivation act, bool training, bool affine,
        int seed)
    {
        var names = ConvBatchNormResults;
        var results = new[] { reference, tested }.Select(backend => ConvBatchNormRun(backend, s, act, training, affine, seed, fused: true)).ToArray();
        string what = $"Conv2D + BatchNormalization {s} {act.Kind} shared [{string.Join(",", act.PRelu?.SharedAxes ?? [])}], " +
            $"{(training ? "training" : "evaluation")}, {(affine ? "gamma and beta" : "neither gamma nor beta")}";
        const int ConvolutionOutput = 0, BiasGradient = 7;
        for (int i = 0; i < names.Length; i++)
        {
            if (i == ConvolutionOutput && !training)
                continue; // workspace in evaluation, which a backend that folds the normalization into the convolution never writes
            if (i == NormalizedOutput && training && act.Kind != ActivationKind.Linear)
                continue; // workspace in training, where the C library keeps only the normalization's terms
            if (i == BiasGradient && training)
            {
                // The normalization takes the batch's mean away, and the bias with it: its gradient is zero but for rounding,
                // which no relative tolerance can hold two backends to.
                foreach (var result in results)
                    Assert.True(result[i].All(g => Math.Abs(g) < 1e-3f), $"{what}: a bias gradient of {result[i].MaxBy(Math.Abs)}, not zero");
                continue;
            }
            Close.Assert(results[0][i], results[1][i], i < 5 ? Close.Forward : Close.Gradient, $"{what}: {names[i]}");
        }
        return results[1];
    }

    /// <summary>
    /// One forward (and after a training forward, one backward) of a convolution, its batch normalization and an activation on
    /// <paramref name="backend"/>: as the fused call, or as the three calls it stands for. The results in the order of
    /// <see cref="ConvBatchNormResults"/> (the gradients empty after an evaluation forward).
    /// </summary>
    internal static float[][] ConvBatchNormRun(Backend backend, Conv2DShape s, FusedActivation act, bool training, bool affine, int seed, bool fused)
    {
        var norm = new BatchNormShape(s.Batch, s.OutHeight * s.OutWidth, s.Filters);
        using var x = backend.Allocate(Det.Floats(s.InputLength, (ulong)seed));
        using var k = backend.Allocate(Det.Floats(s.KernelLength, (ulong)seed + 1, -0.5, 0.5));
        using var b = backend.Allocate(Det.Floats(s.BiasLength, (ulong)seed + 2));
        using var gamma = backend.Allocate(Det.Floats(s.Filters, (ulong)seed + 3, 0.5, 1.5));
        using var beta = backend.Allocate(Det.Floats(s.Filters, (ulong)seed + 4));
        using var mean = backend.Allocate(Det.Floats(s.Filters, (ulong)seed + 5));
        using var variance = backend.Allocate(Det.Floats(s.Filters, (ulong)seed + 6, 0.2, 2));
        int alphaLength = act.PRelu?.AlphaLength ?? 1;
        using var alpha = backend.Allocate(Det.Floats(alphaLength, (ulong)seed + 7, 0, 0.5));
        using var c = backend.Allocate(s.OutputLength);
        using var z = backend.Allocate(s.OutputLength);
        using var y = backend.Allocate(s.OutputLength);
        using var dy = backend.Allocate(Det.Floats(s.OutputLength, (ulong)seed + 8));
        using var workspace = backend.Allocate(s.OutputLength);
        using var dx = backend.Allocate(s.InputLength);
        using var dk = backend.Allocate(s.KernelLength);
        using var db = backend.Allocate(s.BiasLength);
        using var dgamma = backend.Allocate(s.Filters);
        using var dbeta = backend.Allocate(s.Filters);
        using var dalpha = backend.Allocate(alphaLength);
        bool prelu = act.Kind == ActivationKind.PRelu, linear = act.Kind == ActivationKind.Linear;
        var after = new BatchNormAfter(0.9f, 1e-3f, affine ? gamma : null, affine ? beta : null, mean, variance);
        if (fused)
        {
            backend.Conv2DBatchNormForward(s, after, training, act, x, k, b, prelu ? alpha : null, c, linear ? null : z, y);
            if (training)
            {
                backend.Conv2DBatchNormBackward(s, after, act, x, k, prelu ? alpha : null, c, linear ? null : z, dy, workspace, dx, dk, db,
                    affine ? dgamma : null, affine ? dbeta : null, prelu ? dalpha : null);
            }
        }
        else
        {
            backend.Conv2DForward(s, FusedActivation.Linear, x, k, b, null, null, c);
            backend.BatchNormForward(norm, training, after.Momentum, after.Epsilon, c, after.Gamma, after.Beta, mean, variance, linear ? y : z);
            if (!linear)
                backend.ActivationForward(act, z, prelu ? alpha : null, y);
            if (training)
            {
                var normalizationGrad = dy;
                if (!linear)
                {
                    backend.ActivationBackward(act, z, prelu ? alpha : null, dy, workspace, prelu ? dalpha : null);
                    normalizationGrad = workspace;
                }
                using var convolutionGrad = backend.Allocate(s.OutputLength);
                backend.BatchNormBackward(norm, after.Epsilon, c, after.Gamma, normalizationGrad, convolutionGrad, affine ? dgamma : null, affine ? dbeta : null);
                backend.Conv2DBackward(s, FusedActivation.Linear, x, k, null, null, convolutionGrad, dx, dk, db, null);
            }
        }
        var forward = new[] { backend.ToArray(c), backend.ToArray(linear ? y : z), backend.ToArray(y), backend.ToArray(mean), backend.ToArray(variance) };
        var gradients = training
            ? new[] { backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db), backend.ToArray(dgamma), backend.ToArray(dbeta), backend.ToArray(dalpha) }
            : Enumerable.Repeat(Array.Empty<float>(), 6).ToArray();
        return [.. forward, .. gradients];
    }

    // The fused convolution, BatchNormalization and activation in a model, on every backend: NormalizedNet's first block
    // and CheckpointedBatchNormNet's (Conv2D, BatchNormalization, swish or ReLU) run as one call.
    [Fact]
    public void The_models_with_a_fused_convolution_normalization_and_activation_agree_with_the_reference_and_they_train()
    {
        ModelAgreesAndTrains(typeof(NormalizedNet), steps: 80); // normalized maps of random inputs: slower to fit than the graphs
        ModelAgreesAndTrains(typeof(CheckpointedBatchNormNet), steps: 80);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Dense_fused_agrees_on_random_shapes(int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var random = new Random(seed + 100);
        var s = new DenseShape(random.Next(1, 40), random.Next(1, 300), random.Next(1, 70));
        var act = RandomActivation(random, s.Batch, [s.Units]);

        var results = new[] { _reference, _backend }.Select(backend =>
        {
            using var x = backend.Allocate(Det.Floats(s.InputLength, (ulong)seed));
            using var k = backend.Allocate(Det.Floats(s.KernelLength, (ulong)seed + 1, -0.5, 0.5));
            using var b = backend.Allocate(Det.Floats(s.BiasLength, (ulong)seed + 2));
            int alphaLength = act.PRelu?.AlphaLength ?? 1;
            using var alpha = backend.Allocate(Det.Floats(alphaLength, (ulong)seed + 3, 0, 0.5));
            using var z = backend.Allocate(s.OutputLength);
            using var y = backend.Allocate(s.OutputLength);
            using var dy = backend.Allocate(Det.Floats(s.OutputLength, (ulong)seed + 4));
            using var dx = backend.Allocate(s.InputLength);
            using var dk = backend.Allocate(s.KernelLength);
            using var db = backend.Allocate(s.BiasLength);
            using var dalpha = backend.Allocate(alphaLength);
            bool prelu = act.Kind == ActivationKind.PRelu;
            bool linear = act.Kind == ActivationKind.Linear;
            backend.DenseForward(s, act, x, k, b, prelu ? alpha : null, linear ? null : z, y);
            backend.DenseBackward(s, act, x, k, prelu ? alpha : null, linear ? null : z, dy, dx, dk, db, prelu ? dalpha : null);
            return new[] { backend.ToArray(y), backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db), backend.ToArray(dalpha) };
        }).ToArray();

        string what = $"Dense {s} {act.Kind}";
        Close.Assert(results[0][0], results[1][0], Close.Forward, what + " output");
        for (int i = 1; i < 5; i++)
            Close.Assert(results[0][i], results[1][i], Close.Gradient, $"{what} gradient {i}");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Covers(act), $"Dense {s} {act.Kind}");
    }

    // A few rows (a prediction of one image, or a handful) take a path of their own in the C library: full register
    // blocks of columns, partial ones, one and two rows on their own, and more rows than one block.
    [Theory]
    [InlineData(1, 1600, 256)]
    [InlineData(2, 300, 128)]
    [InlineData(3, 100, 70)]
    [InlineData(5, 64, 130)]
    [InlineData(8, 257, 256)]
    public void A_dense_layer_of_a_few_rows_agrees(int batch, int inputs, int units)
    {
        var s = new DenseShape(batch, inputs, units);
        var outputs = new[] { _reference, _backend }.Select(backend =>
        {
            using var x = backend.Allocate(Det.Floats(s.InputLength, 71));
            using var k = backend.Allocate(Det.Floats(s.KernelLength, 72, -0.5, 0.5));
            using var b = backend.Allocate(Det.Floats(s.BiasLength, 73));
            using var z = backend.Allocate(s.OutputLength);
            using var y = backend.Allocate(s.OutputLength);
            backend.DenseForward(s, FusedActivation.Relu, x, k, b, null, z, y);
            return backend.ToArray(y);
        }).ToArray();
        Close.Assert(outputs[0], outputs[1], Close.Forward, $"Dense {s} forward");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Pooling_activations_and_dropout_agree_on_random_shapes(int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var random = new Random(seed + 200);
        int ph = random.Next(1, 4), pw = random.Next(1, 4);
        var s = new Pool2DShape(random.Next(1, 5), random.Next(ph, 15), random.Next(pw, 15), random.Next(1, 20), ph, pw,
            random.Next(1, 4), random.Next(1, 4), random.Next(2) == 0 ? Padding.Valid : Padding.Same);
        var act = RandomActivation(random, s.Batch, [s.Height, s.Width, s.Channels]);
        float rate = (float)random.NextDouble() * 0.9f;

        var results = new[] { _reference, _backend }.Select(backend =>
        {
            using var x = backend.Allocate(Det.Floats(s.InputLength, (ulong)seed));
            using var y = backend.Allocate(s.OutputLength);
            using var dy = backend.Allocate(Det.Floats(s.OutputLength, (ulong)seed + 1));
            using var dx = backend.Allocate(s.InputLength);
            backend.MaxPool2DForward(s, x, y);
            backend.MaxPool2DBackward(s, x, dy, dx);

            int alphaLength = act.PRelu?.AlphaLength ?? 1;
            using var alpha = backend.Allocate(Det.Floats(alphaLength, (ulong)seed + 2, 0, 0.5));
            using var ay = backend.Allocate(s.InputLength);
            using var ady = backend.Allocate(Det.Floats(s.InputLength, (ulong)seed + 3));
            using var adx = backend.Allocate(s.InputLength);
            using var dalpha = backend.Allocate(alphaLength);
            bool prelu = act.Kind == ActivationKind.PRelu;
            backend.ActivationForward(act, x, prelu ? alpha : null, ay);
            backend.ActivationBackward(act, x, prelu ? alpha : null, ady, adx, prelu ? dalpha : null);

            using var mask = backend.Allocate(s.InputLength);
            using var dropped = backend.Allocate(s.InputLength);
            using var ddx = backend.Allocate(s.InputLength);
            backend.DropoutForward(rate, (ulong)seed, 17, x, mask, dropped);
            backend.DropoutBackward(mask, ady, ddx);
            return new[] { backend.ToArray(y), backend.ToArray(dx), backend.ToArray(ay), backend.ToArray(adx), backend.ToArray(dalpha),
                backend.ToArray(mask), backend.ToArray(dropped), backend.ToArray(ddx) };
        }).ToArray();

        string what = $"{s} {act.Kind}";
        Close.Assert(results[0][0], results[1][0], Close.Forward, what + " pool output");
        Close.Assert(results[0][1], results[1][1], Close.Gradient, what + " pool gradient");
        Close.Assert(results[0][2], results[1][2], Close.Forward, what + " activation output");
        Close.Assert(results[0][3], results[1][3], Close.Gradient, what + " activation gradient");
        Close.Assert(results[0][4], results[1][4], Close.Gradient, what + " alpha gradient");
        Assert.Equal(results[0][5], results[1][5]);
        Close.Assert(results[0][6], results[1][6], Close.Forward, what + " dropout output");
        Close.Assert(results[0][7], results[1][7], Close.Gradient, what + " dropout gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Covers(act), $"{s} {act.Kind}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Average_pooling_and_batch_normalisation_agree_on_random_shapes(int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var random = new Random(seed + 300);
        int ph = random.Next(1, 4), pw = random.Next(1, 4);
        var pool = new Pool2DShape(random.Next(1, 5), random.Next(ph, 15), random.Next(pw, 15), random.Next(1, 20), ph, pw,
            random.Next(1, 4), random.Next(1, 4), random.Next(2) == 0 ? Padding.Valid : Padding.Same);
        var norm = new BatchNormShape(random.Next(1, 9), random.Next(1, 40), random.Next(1, 70));
        bool affine = random.Next(3) > 0, training = random.Next(4) > 0;

        var results = new[] { _reference, _backend }.Select(backend =>
        {
            using var x = backend.Allocate(Det.Floats(pool.InputLength, (ulong)seed));
            using var y = backend.Allocate(pool.OutputLength);
            using var dy = backend.Allocate(Det.Floats(pool.OutputLength, (ulong)seed + 1));
            using var dx = backend.Allocate(pool.InputLength);
            backend.AvgPool2DForward(pool, x, y);
            backend.AvgPool2DBackward(pool, dy, dx);

            using var nx = backend.Allocate(Det.Floats(norm.Length, (ulong)seed + 2, -3, 5));
            using var gamma = backend.Allocate(Det.Floats(norm.Channels, (ulong)seed + 3, 0.5, 1.5));
            using var beta = backend.Allocate(Det.Floats(norm.Channels, (ulong)seed + 4));
            using var mean = backend.Allocate(Det.Floats(norm.Channels, (ulong)seed + 5));
            using var variance = backend.Allocate(Det.Floats(norm.Channels, (ulong)seed + 6, 0.2, 2));
            using var ny = backend.Allocate(norm.Length);
            using var ndy = backend.Allocate(Det.Floats(norm.Length, (ulong)seed + 7));
            using var ndx = backend.Allocate(norm.Length);
            using var dgamma = backend.Allocate(norm.Channels);
            using var dbeta = backend.Allocate(norm.Channels);
            backend.BatchNormForward(norm, training, 0.9f, 1e-3f, nx, affine ? gamma : null, affine ? beta : null, mean, variance, ny);
            backend.BatchNormBackward(norm, 1e-3f, nx, affine ? gamma : null, ndy, ndx, affine ? dgamma : null, affine ? dbeta : null);
            return new[] { backend.ToArray(y), backend.ToArray(dx), backend.ToArray(ny), backend.ToArray(ndx), backend.ToArray(dgamma),
                backend.ToArray(dbeta), backend.ToArray(mean), backend.ToArray(variance) };
        }).ToArray();

        string what = $"{pool} / {norm} training {training}";
        string[] names = ["average pool output", "average pool gradient", "batch norm output", "batch norm input gradient",
            "gamma gradient", "beta gradient", "moving mean", "moving variance"];
        for (int i = 0; i < names.Length; i++)
            Close.Assert(results[0][i], results[1][i], i is 1 or 3 or 4 or 5 ? Close.Gradient : Close.Forward, $"{what} {names[i]}");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, what);
    }

    // Merges, Concatenate and gradient sums: folds over the inputs in their order, element by element, so every backend
    // gives the reference's bits (Average divides, which a device may round differently: within the forward tolerance).
    // Inputs drawn from a few values, so that Maximum meets ties and its gradient must go to the first input that ties.
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Merges_concatenation_and_gradient_sums_agree_on_random_shapes(int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var random = new Random(seed + 500);
        // Two sizes, one of them odd, rather than a size per seed: a device whose driver picks the work-group size
        // builds each kernel again for each new size (PoCL does), and the values, counts and widths vary anyway.
        int count = random.Next(2, 5), length = seed % 2 == 0 ? 1024 : 3001;
        int rows = seed % 2 == 0 ? 8 : 31;
        var widths = Enumerable.Range(0, count).Select(_ => random.Next(1, 70)).ToArray();
        var shape = new ConcatenateShape(rows, widths);
        float[] Draw(int n, ulong stream) => Det.Floats(n, (ulong)seed * 31 + stream).Select(v => MathF.Round(v * 2) / 2).ToArray();

        var results = new[] { _reference, _backend }.Select(backend =>
        {
            var outputs = new List<float[]>();
            var inputs = Enumerable.Range(0, count).Select(i => backend.Allocate(Draw(length, (ulong)i))).ToArray();
            using var y = backend.Allocate(length);
            using var dy = backend.Allocate(Det.Floats(length, (ulong)seed + 90));
            var grads = Enumerable.Range(0, count).Select(_ => backend.Allocate(length)).ToArray();
            foreach (var kind in Enum.GetValues<MergeKind>())
            {
                backend.MergeForward(kind, inputs, y);
                // One input's gradient not wanted: it is left alone.
                var wanted = grads.Select((g, i) => i == count - 1 && kind == MergeKind.Multiply ? null : g).ToArray();
                backend.Fill(grads[count - 1], 7f);
                backend.MergeBackward(kind, inputs, y, dy, wanted);
                outputs.Add(backend.ToArray(y));
                outputs.AddRange(grads.Select(backend.ToArray));
            }
            backend.Accumulate(inputs[1], inputs[0]);
            outputs.Add(backend.ToArray(inputs[0]));

            var parts = Enumerable.Range(0, count).Select(i => backend.Allocate(Det.Floats(shape.InputLength(i), (ulong)seed + 40 + (ulong)i))).ToArray();
            using var joined = backend.Allocate(shape.OutputLength);
            backend.ConcatenateForward(shape, parts, joined);
            using var djoined = backend.Allocate(Det.Floats(shape.OutputLength, (ulong)seed + 60));
            var dparts = parts.Select(p => (DeviceBuffer?)backend.Allocate(p.Length)).ToArray();
            dparts[0] = null;
            backend.ConcatenateBackward(shape, djoined, dparts);
            outputs.Add(backend.ToArray(joined));
            outputs.AddRange(dparts.Skip(1).Select(d => backend.ToArray(d!)));
            foreach (var b in inputs.Concat(grads).Concat(parts).Concat(dparts.Skip(1).Select(d => d!)))
                b.Dispose();
            return outputs;
        }).ToArray();

        string what = $"{count} inputs of {length}, concatenation {shape.Rows} x [{string.Join(", ", widths)}]";
        int perKind = 1 + count;
        for (int i = 0; i < results[0].Count; i++)
        {
            bool average = i / perKind == (int)MergeKind.Average && i < 4 * perKind;
            if (average)
                Close.Assert(results[0][i], results[1][i], Close.Forward, $"{what}: Average, result {i % perKind}");
            else
                Assert.True(results[0][i].SequenceEqual(results[1][i]), $"{what}: result {i} differs from the reference's bits");
        }
        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, what);
    }

    // A graph's training step (forward with its merges and shortcuts, the loss, backward with the fan-out sums) on this
    // backend against the reference from the same weights; then a few Adam steps on this backend fit a small batch.
    [Fact]
    public void The_graph_models_steps_agree_with_the_reference_and_they_train()
    {
        Assert.Contains(typeof(ResidualGraphNet), _graphs); // shortcuts, a projection, a Concatenate, a tensor read by four layers
        foreach (var type in _graphs)
            ModelAgreesAndTrains(type);
    }

    // The same for a model of each loss: regression (a vector, a map, through a non-linear output), binary (one label,
    // several), class indices.
    [Fact]
    public void The_models_of_every_loss_agree_with_the_reference_and_they_train()
    {
        foreach (var type in TestModels.Losses)
            ModelAgreesAndTrains(type);
    }

    private void ModelAgreesAndTrains(Type type, int steps = 30)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        const int Batch = 8;
        var runs = new[] { _reference, _backend }.Select(backend =>
        {
            using var model = TestModels.Create(type, backend, Batch);
            model.Initialize(7);
            using var input = backend.Allocate(Det.Floats(Batch * model.InputLength, 3, -1, 1));
            using var labels = backend.Allocate(Det.Targets(model.Loss, Batch, model.OutputLength));
            using var metrics = backend.Allocate(MetricSlot.Count);
            using var m = backend.Allocate(model.ParameterArena.Length);
            using var v = backend.Allocate(model.ParameterArena.Length);
            float LossAt(int step)
            {
                backend.Fill(metrics, 0f);
                model.ComputeGradients(input, labels, Batch, (ulong)step, metrics);
                return backend.ToArray(metrics)[MetricSlot.LossSum] / Batch;
            }
            float first = LossAt(1);
            var gradients = backend.ToArray(model.GradientArena);
            // The models of the other losses fit random values, probabilities and classes with a few dozen weights: a larger
            // rate and more steps (as GeneratedModelTests gives them).
            bool otherLoss = TestModels.Losses.Contains(type);
            var adam = new AdamSettings(LearningRate: otherLoss ? 0.02f : 0.003f);
            int stepCount = otherLoss ? 150 : steps;
            float last = first;
            for (int step = 1; step <= stepCount; step++)
            {
                last = LossAt(step);
                backend.AdamUpdate(adam, step, model.ParameterArena, model.GradientArena, m, v);
                model.ApplyConstraints();
            }
            return (First: first, Last: last, Gradients: gradients);
        }).ToArray();

        Assert.Equal(runs[0].First, runs[1].First, 1e-4f);
        Close.Assert(runs[0].Gradients, runs[1].Gradients, Close.Gradient, $"{type.Name}: the first step's gradients");
        Assert.True(runs[1].Last < 0.5f * runs[1].First, $"{type.Name} on {_backend.Name}: loss {runs[1].First} -> {runs[1].Last} after the Adam steps");
        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, type.Name); // no constraints, no irregular PReLU sharing
    }

    [Fact]
    public void The_study_step_agrees_with_the_reference()
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var expected = StudyStep.HandWired(_reference);
        var actual = StudyStep.HandWired(_backend);

        Close.Assert(expected.Logits, actual.Logits, Close.Forward, "logits");
        foreach (var (name, gradient) in expected.Gradients)
            Close.Assert(gradient, actual.Gradients[name], Close.Gradient, $"gradient of {name}");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, "the study's step");
    }
}

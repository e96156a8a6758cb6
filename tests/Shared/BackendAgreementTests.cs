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
    private readonly ManagedBackend _reference = new();

    /// <param name="backend">The backend under test; the suite disposes it.</param>
    /// <param name="onHost">What the backend still runs through the host reference; every case checks it.</param>
    protected BackendAgreementTests(Backend backend, HostFallbackDeclaration? onHost = null)
    {
        _backend = backend;
        _onHost = onHost ?? HostFallbackDeclaration.None;
    }

    public void Dispose()
    {
        _backend.Dispose();
        _reference.Dispose();
        GC.SuppressFinalize(this);
    }

    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    private static FusedActivation RandomActivation(Random random, int batch, int[] dims)
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
    // vectors of 16. Linear, so that the output is the whole pre-activation.
    [Theory]
    [InlineData(2, 13, 13, 32, 64)] // the study's second convolution: an 11 x 11 map
    [InlineData(3, 10, 9, 8, 5)]    // an 8 x 7 map, the fewest channels that take the transforms, one partial vector of filters
    [InlineData(1, 6, 19, 20, 33)]  // a 4 x 17 map; 20 channels in and 33 out
    [InlineData(2, 4, 4, 17, 16)]   // one tile
    [InlineData(1, 5, 6, 9, 130)]   // filters past four panels of the products' B (their A is packed) and past a whole panel
    [InlineData(1, 4, 5, 200, 40)]  // input channels past one block of the products' K, filters over two panels
    public void A_3x3_convolution_of_stride_1_agrees_with_the_reference(int batch, int height, int width, int inChannels, int filters) =>
        ConvolutionAgrees(new Conv2DShape(batch, height, width, inChannels, filters, 3, 3), FusedActivation.Linear, firstLayer: false, seed: 61);

    // The convolution's forward and backward (without the input gradient for a first layer) on the backend and the reference.
    private void ConvolutionAgrees(Conv2DShape s, FusedActivation act, bool firstLayer, int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
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
            backend.Conv2DForward(s, act, x, k, b, prelu ? alpha : null, linear ? null : z, y);
            backend.Conv2DBackward(s, act, x, k, prelu ? alpha : null, linear ? null : z, dy, firstLayer ? null : dx, dk, db, prelu ? dalpha : null);
            return new[] { backend.ToArray(y), backend.ToArray(dx), backend.ToArray(dk), backend.ToArray(db), backend.ToArray(dalpha) };
        }).ToArray();

        string what = $"Conv2D {s} {act.Kind} shared [{string.Join(",", act.PRelu?.SharedAxes ?? [])}]";
        Close.Assert(results[0][0], results[1][0], Close.Forward, what + " output");
        Close.Assert(results[0][1], results[1][1], Close.Gradient, what + " input gradient");
        Close.Assert(results[0][2], results[1][2], Close.Gradient, what + " kernel gradient");
        Close.Assert(results[0][3], results[1][3], Close.Gradient, what + " bias gradient");
        Close.Assert(results[0][4], results[1][4], Close.Gradient, what + " alpha gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Covers(act), $"Conv2D {s} {act.Kind}");
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

using Prelu.Kernels;

namespace Prelu.Tests.Shared;

/// <summary>
/// Every operation of the kernel contract against PyTorch's answers (tests/reference/fixture.safetensors),
/// forward to 1e-5 and gradients to 1e-4 relative error. Each backend's test project derives from this
/// class, so every backend is held to the same reference by the same code.
/// </summary>
public abstract class BackendConformanceTests : IDisposable
{
    private readonly Backend _backend;
    private readonly HostFallbackDeclaration _onHost;

    /// <param name="backend">The backend under test; the suite disposes it.</param>
    /// <param name="onHost">What the backend still runs through the host reference; every case checks it.</param>
    protected BackendConformanceTests(Backend backend, HostFallbackDeclaration? onHost = null)
    {
        _backend = backend;
        _onHost = onHost ?? HostFallbackDeclaration.None;
    }

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }

    private DeviceBuffer Up(float[] values) => _backend.Allocate(values);

    private DeviceBuffer Zeros(int length) => _backend.Allocate(length);

    private float[] Down(DeviceBuffer buffer) => _backend.ToArray(buffer);

    [Fact]
    public void The_test_data_generator_matches_the_fixture_script()
    {
        Assert.Equal(Fixture.Get("det.probe"), Det.Floats(64, 7));
    }

    [Theory]
    [InlineData("conv_valid", 2, 7, 6, 3, 5, 3, 2, 1, 1, Padding.Valid, 100)]
    [InlineData("conv_same_stride", 2, 9, 8, 2, 4, 3, 3, 2, 2, Padding.Same, 110)]
    [InlineData("conv_same_odd", 3, 5, 7, 3, 2, 2, 4, 1, 3, Padding.Same, 120)]
    [InlineData("conv_study1", 2, 28, 28, 1, 32, 3, 3, 1, 1, Padding.Valid, 130)]
    [InlineData("conv_study2", 2, 13, 13, 32, 64, 3, 3, 1, 1, Padding.Valid, 140)]
    [InlineData("conv_same_3x3", 2, 9, 7, 12, 20, 3, 3, 1, 1, Padding.Same, 150)] // Winograd's padded patches, partial vectors
    public void Conv2D_matches_pytorch(string name, int n, int h, int w, int cin, int f, int kh, int kw, int sy, int sx, Padding padding, int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var s = new Conv2DShape(n, h, w, cin, f, kh, kw, sy, sx, padding);
        using var x = Up(Det.Floats(s.InputLength, (ulong)seed));
        using var k = Up(Det.Floats(s.KernelLength, (ulong)seed + 1, -0.5, 0.5));
        using var b = Up(Det.Floats(s.BiasLength, (ulong)seed + 2, -0.1, 0.1));
        using var y = Zeros(s.OutputLength);
        using var dy = Up(Det.Floats(s.OutputLength, (ulong)seed + 3));
        using var dx = Zeros(s.InputLength);
        using var dk = Zeros(s.KernelLength);
        using var db = Zeros(s.BiasLength);

        _backend.Conv2DForward(s, FusedActivation.Linear, x, k, b, null, null, y);
        _backend.Conv2DBackward(s, FusedActivation.Linear, x, k, null, null, dy, dx, dk, db, null);

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");
        Close.Assert(Fixture.Get($"{name}.dk"), Down(dk), Close.Gradient, $"{name} kernel gradient");
        Close.Assert(Fixture.Get($"{name}.db"), Down(db), Close.Gradient, $"{name} bias gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    // PyTorch's Conv2d with groups = channels: one channel per kernel (multiplier 1), several (3 with strides and 'same'
    // padding, 2 with odd windows and strides), and 64 channels, a vector's worth and more.
    [Theory]
    [InlineData("depthwise_valid", 2, 7, 6, 3, 1, 3, 2, 1, 1, Padding.Valid, 150)]
    [InlineData("depthwise_multiplier_same", 2, 9, 8, 4, 3, 3, 3, 2, 2, Padding.Same, 160)]
    [InlineData("depthwise_odd", 3, 5, 7, 5, 2, 2, 4, 1, 3, Padding.Same, 170)]
    [InlineData("depthwise_wide", 2, 10, 10, 64, 1, 3, 3, 1, 1, Padding.Same, 180)]
    public void DepthwiseConv2D_matches_pytorch(string name, int n, int h, int w, int c, int m, int kh, int kw, int sy, int sx, Padding padding, int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var s = new DepthwiseConv2DShape(n, h, w, c, m, kh, kw, sy, sx, padding);
        using var x = Up(Det.Floats(s.InputLength, (ulong)seed));
        using var k = Up(Det.Floats(s.KernelLength, (ulong)seed + 1, -0.5, 0.5));
        using var b = Up(Det.Floats(s.BiasLength, (ulong)seed + 2, -0.1, 0.1));
        using var y = Zeros(s.OutputLength);
        using var dy = Up(Det.Floats(s.OutputLength, (ulong)seed + 3));
        using var dx = Zeros(s.InputLength);
        using var dk = Zeros(s.KernelLength);
        using var db = Zeros(s.BiasLength);

        _backend.DepthwiseConv2DForward(s, FusedActivation.Linear, x, k, b, null, null, y);
        _backend.DepthwiseConv2DBackward(s, FusedActivation.Linear, x, k, null, null, dy, dx, dk, db, null);

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");
        Close.Assert(Fixture.Get($"{name}.dk"), Down(dk), Close.Gradient, $"{name} kernel gradient");
        Close.Assert(Fixture.Get($"{name}.db"), Down(db), Close.Gradient, $"{name} bias gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Theory]
    [InlineData("pool_valid", 2, 7, 5, 3, 2, 2, Padding.Valid, 200)]
    [InlineData("pool_same_stride", 2, 7, 7, 2, 3, 2, Padding.Same, 210)]
    [InlineData("pool_study", 2, 11, 11, 4, 2, 2, Padding.Valid, 220)]
    public void MaxPooling2D_matches_pytorch(string name, int n, int h, int w, int c, int pool, int stride, Padding padding, int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var s = new Pool2DShape(n, h, w, c, pool, pool, stride, stride, padding);
        using var x = Up(Det.Floats(s.InputLength, (ulong)seed));
        using var y = Zeros(s.OutputLength);
        using var dy = Up(Det.Floats(s.OutputLength, (ulong)seed + 1));
        using var dx = Zeros(s.InputLength);

        _backend.MaxPool2DForward(s, x, y);
        _backend.MaxPool2DBackward(s, x, dy, dx);

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Fact]
    public void Dense_matches_pytorch()
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var s = new DenseShape(3, 17, 11);
        using var x = Up(Det.Floats(s.InputLength, 300));
        using var k = Up(Det.Floats(s.KernelLength, 301, -0.5, 0.5));
        using var b = Up(Det.Floats(s.BiasLength, 302, -0.1, 0.1));
        using var y = Zeros(s.OutputLength);
        using var dy = Up(Det.Floats(s.OutputLength, 303));
        using var dx = Zeros(s.InputLength);
        using var dk = Zeros(s.KernelLength);
        using var db = Zeros(s.BiasLength);

        _backend.DenseForward(s, FusedActivation.Linear, x, k, b, null, null, y);
        _backend.DenseBackward(s, FusedActivation.Linear, x, k, null, null, dy, dx, dk, db, null);

        Close.Assert(Fixture.Get("dense.y"), Down(y), Close.Forward, "dense output");
        Close.Assert(Fixture.Get("dense.dx"), Down(dx), Close.Gradient, "dense input gradient");
        Close.Assert(Fixture.Get("dense.dk"), Down(dk), Close.Gradient, "dense kernel gradient");
        Close.Assert(Fixture.Get("dense.db"), Down(db), Close.Gradient, "dense bias gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, "dense");
    }

    [Theory]
    [InlineData("prelu_element", new[] { 5, 4, 3 }, new int[0], 400)]
    [InlineData("prelu_channel", new[] { 5, 4, 3 }, new[] { 1, 2 }, 410)]
    [InlineData("prelu_shared", new[] { 5, 4, 3 }, new[] { 1, 2, 3 }, 420)]
    [InlineData("prelu_width", new[] { 5, 4, 3 }, new[] { 2 }, 430)]
    [InlineData("prelu_dense", new[] { 7 }, new int[0], 440)]
    public void PReLU_matches_pytorch_in_every_sharing_mode(string name, int[] dims, int[] shared, int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        int batch = name == "prelu_dense" ? 3 : 2;
        var s = new PReluShape(batch, dims, shared);
        var act = FusedActivation.Parametric(s);
        using var x = Up(Det.Floats(s.Length, (ulong)seed));
        using var alpha = Up(Det.Floats(s.AlphaLength, (ulong)seed + 1, 0, 0.5));
        using var y = Zeros(s.Length);
        using var dy = Up(Det.Floats(s.Length, (ulong)seed + 2));
        using var dx = Zeros(s.Length);
        using var dalpha = Zeros(s.AlphaLength);

        _backend.ActivationForward(act, x, alpha, y);
        _backend.ActivationBackward(act, x, alpha, dy, dx, dalpha);

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");
        Close.Assert(Fixture.Get($"{name}.dalpha"), Down(dalpha), Close.Gradient, $"{name} alpha gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Covers(act), name);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("leaky_relu")]
    public void ReLU_and_LeakyReLU_match_pytorch(string name)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var act = name == "relu" ? FusedActivation.Relu : FusedActivation.Leaky(0.1f);
        using var x = Up(Det.Floats(36, 500));
        using var y = Zeros(36);
        using var dy = Up(Det.Floats(36, 501));
        using var dx = Zeros(36);

        _backend.ActivationForward(act, x, null, y);
        _backend.ActivationBackward(act, x, null, dy, dx, null);

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    public static TheoryData<string> PointwiseActivations => new() { "sigmoid", "tanh", "elu", "elu_0.7", "selu", "gelu", "softplus", "swish" };

    /// <summary>An activation named as the fixture names it: Keras's name, and "elu_0.7" for ELU(alpha=0.7).</summary>
    public static FusedActivation Pointwise(string name) => name switch
    {
        "sigmoid" => FusedActivation.Of(ActivationKind.Sigmoid),
        "tanh" => FusedActivation.Of(ActivationKind.Tanh),
        "elu" => FusedActivation.Elu(),
        "elu_0.7" => FusedActivation.Elu(0.7f),
        "selu" => FusedActivation.Of(ActivationKind.Selu),
        "gelu" => FusedActivation.Of(ActivationKind.Gelu),
        "softplus" => FusedActivation.Of(ActivationKind.Softplus),
        "swish" => FusedActivation.Of(ActivationKind.Swish),
        _ => throw new ArgumentException($"no activation {name}", nameof(name)),
    };

    [Theory]
    [MemberData(nameof(PointwiseActivations))]
    public void Pointwise_activations_match_pytorch(string name)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var act = Pointwise(name);
        using var x = Up(Det.Floats(36, 510, -4, 4));
        using var y = Zeros(36);
        using var dy = Up(Det.Floats(36, 511));
        using var dx = Zeros(36);

        _backend.ActivationForward(act, x, null, y);
        _backend.ActivationBackward(act, x, null, dy, dx, null);

        Close.Assert(Fixture.Get($"act_{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"act_{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Theory]
    [InlineData("avgpool_valid", 2, 7, 5, 3, 2, 2, Padding.Valid, 230)]
    [InlineData("avgpool_same_stride", 2, 7, 7, 2, 3, 2, Padding.Same, 240)]
    [InlineData("avgpool_overlap", 2, 6, 6, 3, 3, 1, Padding.Valid, 250)]
    public void AveragePooling2D_matches_pytorch(string name, int n, int h, int w, int c, int pool, int stride, Padding padding, int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var s = new Pool2DShape(n, h, w, c, pool, pool, stride, stride, padding);
        using var x = Up(Det.Floats(s.InputLength, (ulong)seed));
        using var y = Zeros(s.OutputLength);
        using var dy = Up(Det.Floats(s.OutputLength, (ulong)seed + 1));
        using var dx = Up(Det.Floats(s.InputLength, 9)); // overwritten, not added to

        _backend.AvgPool2DForward(s, x, y);
        _backend.AvgPool2DBackward(s, dy, dx);

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Theory]
    [InlineData("global_avg", 260)]
    [InlineData("global_max", 270)]
    public void Global_pooling_is_a_pool_of_the_whole_map_and_matches_pytorch(string name, int seed)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var s = new Pool2DShape(2, 5, 4, 3, 5, 4);
        using var x = Up(Det.Floats(s.InputLength, (ulong)seed));
        using var y = Zeros(s.OutputLength);
        using var dy = Up(Det.Floats(s.OutputLength, (ulong)seed + 1));
        using var dx = Zeros(s.InputLength);

        Assert.Equal(2 * 3, s.OutputLength);
        if (name == "global_avg")
        {
            _backend.AvgPool2DForward(s, x, y);
            _backend.AvgPool2DBackward(s, dy, dx);
        }
        else
        {
            _backend.MaxPool2DForward(s, x, y);
            _backend.MaxPool2DBackward(s, x, dy, dx);
        }

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Theory]
    [InlineData("batchnorm_map", new[] { 3, 4, 5, 6 }, 280, true, 0.99f, 1e-3f)]
    [InlineData("batchnorm_flat", new[] { 5, 7 }, 290, true, 0.99f, 1e-3f)]
    [InlineData("batchnorm_plain", new[] { 4, 3, 3, 2 }, 300, false, 0.9f, 1e-2f)]
    public void BatchNormalization_matches_pytorch_in_training_and_inference(string name, int[] dims, int seed, bool affine, float momentum, float epsilon)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        int channels = dims[^1], length = dims.Aggregate(1, (a, b) => a * b);
        var s = new BatchNormShape(dims[0], length / dims[0] / channels, channels);
        using var x = Up(Det.Floats(length, (ulong)seed, -2, 3));
        using var gamma = Up(Det.Floats(channels, (ulong)seed + 1, 0.5, 1.5));
        using var beta = Up(Det.Floats(channels, (ulong)seed + 2, -0.5, 0.5));
        var movingMeanBefore = Det.Floats(channels, (ulong)seed + 3, -0.2, 0.2);
        var movingVarianceBefore = Det.Floats(channels, (ulong)seed + 4, 0.5, 2.0);
        using var movingMean = Up(movingMeanBefore);
        using var movingVariance = Up(movingVarianceBefore);
        using var y = Zeros(length);
        using var dy = Up(Det.Floats(length, (ulong)seed + 5));
        using var dx = Zeros(length);
        using var dgamma = Zeros(channels);
        using var dbeta = Zeros(channels);
        var g = affine ? gamma : null;
        var b = affine ? beta : null;

        _backend.BatchNormForward(s, training: true, momentum, epsilon, x, g, b, movingMean, movingVariance, y);
        _backend.BatchNormBackward(s, epsilon, x, g, dy, dx, affine ? dgamma : null, affine ? dbeta : null);

        Close.Assert(Fixture.Get($"{name}.y"), Down(y), Close.Forward, $"{name} training output");
        Close.Assert(Fixture.Get($"{name}.dx"), Down(dx), Close.Gradient, $"{name} input gradient");
        if (affine)
        {
            Close.Assert(Fixture.Get($"{name}.dgamma"), Down(dgamma), Close.Gradient, $"{name} gamma gradient");
            Close.Assert(Fixture.Get($"{name}.dbeta"), Down(dbeta), Close.Gradient, $"{name} beta gradient");
        }
        Close.Assert(Fixture.Get($"{name}.moving_mean"), Down(movingMean), Close.Forward, $"{name} moving mean");
        Close.Assert(Fixture.Get($"{name}.moving_variance"), Down(movingVariance), Close.Forward, $"{name} moving variance");

        // Inference normalises with the moving statistics as they were, and leaves them alone.
        _backend.Upload(movingMeanBefore, movingMean);
        _backend.Upload(movingVarianceBefore, movingVariance);
        _backend.BatchNormForward(s, training: false, momentum, epsilon, x, g, b, movingMean, movingVariance, y);
        Close.Assert(Fixture.Get($"{name}.inference"), Down(y), Close.Forward, $"{name} inference output");
        Assert.Equal(movingMeanBefore, Down(movingMean));
        Assert.Equal(movingVarianceBefore, Down(movingVariance));

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Fact]
    public void Dropout_draws_the_fixtures_mask_and_scales_by_one_over_keep()
    {
        long fallbacksBefore = _backend.HostFallbacks;
        using var x = Up(Det.Floats(150, 600));
        using var mask = Zeros(150);
        using var y = Zeros(150);
        using var dy = Up(Det.Floats(150, 601));
        using var dx = Zeros(150);

        _backend.DropoutForward(0.25f, 42, 3, x, mask, y);
        _backend.DropoutBackward(mask, dy, dx);

        Assert.Equal(Fixture.Get("dropout.mask"), Down(mask));
        Close.Assert(Fixture.Get("dropout.y"), Down(y), Close.Forward, "dropout output");
        Close.Assert(Fixture.Get("dropout.dx"), Down(dx), Close.Gradient, "dropout input gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, "dropout");
    }

    [Theory]
    [InlineData("categorical", LossKind.CategoricalCrossentropy, 1f)]
    [InlineData("sparse", LossKind.SparseCategoricalCrossentropy, 1f)]
    [InlineData("binary", LossKind.BinaryCrossentropy, 1f)]
    [InlineData("binary_one", LossKind.BinaryCrossentropy, 1f)]
    [InlineData("mse", LossKind.MeanSquaredError, 1f)]
    [InlineData("mae", LossKind.MeanAbsoluteError, 1f)]
    [InlineData("huber", LossKind.Huber, 1f)]
    [InlineData("huber_half", LossKind.Huber, 0.5f)]
    public void Every_loss_matches_pytorch_and_adds_its_metrics(string name, LossKind kind, float delta)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var loss = new LossFunction(kind, delta);
        var zValues = Fixture.Get($"loss.{name}.z");
        var targetValues = Fixture.Get($"loss.{name}.y");
        int batch = loss.SparseTargets ? targetValues.Length : Fixture.Shape($"loss.{name}.z")[0];
        int outputs = zValues.Length / batch;
        using var z = Up(zValues);
        using var targets = Up(targetValues);
        using var p = Zeros(zValues.Length);
        using var dz = Zeros(zValues.Length);
        using var metrics = Up([1f, 2f, 3f, 4f]);

        _backend.Loss(loss, batch, outputs, z, targets, p, dz, metrics);

        Close.Assert(Fixture.Get($"loss.{name}.p"), Down(p), Close.Forward, $"{name}: predictions");
        Close.Assert(Fixture.Get($"loss.{name}.dz"), Down(dz), Close.Gradient, $"{name}: gradient");
        var m = Down(metrics);
        Close.Assert([1f + batch * Fixture.Get($"loss.{name}.loss")[0], 2f + Fixture.Get($"loss.{name}.correct")[0],
            3f + Fixture.Get($"loss.{name}.abs")[0], 4f + Fixture.Get($"loss.{name}.sq")[0]], m, Close.Forward, $"{name}: metrics");

        // Prediction alone writes the same predictions and nothing else.
        using var alone = Up(Enumerable.Repeat(float.NaN, zValues.Length).ToArray());
        _backend.Loss(loss, batch, outputs, z, null, alone, null, null);
        Assert.Equal(Down(p), Down(alone));

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Fact]
    public void A_regression_loss_may_predict_into_its_outputs_own_buffer()
    {
        using var z = Up(Fixture.Get("loss.mse.z"));
        using var targets = Up(Fixture.Get("loss.mse.y"));
        using var dz = Zeros(15);
        using var metrics = Zeros(MetricSlot.Count);

        _backend.Loss(LossFunction.MeanSquaredError, 5, 3, z, targets, z, dz, metrics);

        Assert.Equal(Fixture.Get("loss.mse.z"), Down(z));
        Close.Assert(Fixture.Get("loss.mse.dz"), Down(dz), Close.Gradient, "gradient");
        Close.Assert([5 * Fixture.Get("loss.mse.loss")[0]], [Down(metrics)[MetricSlot.LossSum]], Close.Forward, "loss sum");
    }

    [Fact]
    public void A_class_index_outside_the_outputs_gives_a_nan_loss_and_no_gradient()
    {
        using var z = Up(Det.Floats(6, 730, -1, 1));
        using var targets = Up([1f, 3f]); // 3 is not a class of 3 outputs
        using var p = Zeros(6);
        using var dz = Up(Enumerable.Repeat(9f, 6).ToArray());
        using var metrics = Zeros(MetricSlot.Count);

        _backend.Loss(LossFunction.SparseCategoricalCrossentropy, 2, 3, z, targets, p, dz, metrics);

        Assert.True(float.IsNaN(Down(metrics)[MetricSlot.LossSum]), "the loss sum should be NaN");
        Assert.Equal(new float[3], Down(dz)[3..]);
        Assert.All(Down(dz)[..3], g => Assert.NotEqual(0f, g));
    }

    [Fact]
    public void Softmax_cross_entropy_matches_pytorch_and_accumulates_metrics()
    {
        long fallbacksBefore = _backend.HostFallbacks;
        using var z = Up(Det.Floats(50, 700, -3, 3));
        using var labels = Up(Det.OneHot(5, 10));
        using var p = Zeros(50);
        using var dz = Zeros(50);
        using var metrics = Up([1f, 2f, 0f, 0f]);

        _backend.SoftmaxCrossEntropy(5, 10, z, labels, p, dz, metrics);

        Close.Assert(Fixture.Get("softmax_ce.p"), Down(p), Close.Forward, "probabilities");
        Close.Assert(Fixture.Get("softmax_ce.dz"), Down(dz), Close.Gradient, "logit gradient");
        var m = Down(metrics);
        Close.Assert([1f + 5 * Fixture.Get("softmax_ce.loss")[0]], [m[MetricSlot.LossSum]], Close.Forward, "loss sum");
        Assert.Equal(2f + Fixture.Get("softmax_ce.correct")[0], m[MetricSlot.Correct]);

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, "softmax cross-entropy");
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    [InlineData("sgd_momentum")]
    [InlineData("sgd_nesterov")]
    public void Three_optimizer_steps_match_kerass_formulas(string name)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        using var w = Up(Det.Floats(37, 800));
        using var m = Zeros(37);
        using var v = Zeros(37);
        for (int step = 1; step <= 3; step++)
        {
            using var g = Up(Det.Floats(37, (ulong)(800 + step)));
            switch (name)
            {
                case "adam":
                    _backend.AdamUpdate(new AdamSettings(), step, w, g, m, v);
                    break;
                case "sgd":
                    _backend.SgdUpdate(new SgdSettings(0.01f), w, g, null);
                    break;
                default:
                    _backend.SgdUpdate(new SgdSettings(0.01f, 0.9f, name == "sgd_nesterov"), w, g, m);
                    break;
            }
        }
        Close.Assert(Fixture.Get($"{name}.w3"), Down(w), Close.Forward, $"{name} weights after 3 steps");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, name);
    }

    [Fact]
    public void L1L2_penalty_and_gradient_match_pytorch()
    {
        long fallbacksBefore = _backend.HostFallbacks;
        using var w = Up(Det.Floats(72, 900));
        using var g = Zeros(72);
        using var metrics = Zeros(MetricSlot.Count);

        _backend.AddRegularizer(new Regularizer(0.01f, 0.02f), w, g, metrics, lossWeight: 4f);

        Close.Assert(Fixture.Get("l1l2.grad"), Down(g), Close.Gradient, "penalty gradient");
        Close.Assert([4 * Fixture.Get("l1l2.penalty")[0]], [Down(metrics)[MetricSlot.LossSum]], Close.Forward, "weighted penalty");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Regularizers, "l1_l2 regularizer");
    }

    [Theory]
    [InlineData("nonneg")]
    [InlineData("maxnorm")]
    [InlineData("minmaxnorm")]
    [InlineData("unitnorm")]
    public void Constraints_match_kerass_formulas(string name)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        int[] dims = [3, 3, 2, 4];
        var constraint = name switch
        {
            "nonneg" => Constraint.NonNeg,
            "maxnorm" => Constraint.MaxNorm(1.5f, 0, 1, 2),
            "minmaxnorm" => Constraint.MinMaxNorm(0.2f, 0.9f, 0.5f, 0),
            _ => Constraint.UnitNorm(3),
        };
        using var w = Up(Det.Floats(72, 910, -2, 2));

        _backend.ApplyConstraint(constraint, dims, w);

        Close.Assert(Fixture.Get($"{name}.w"), Down(w), Close.Forward, $"{name} weights");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Constraints, name);
    }

    [Theory]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.LeakyRelu)]
    [InlineData(ActivationKind.PRelu)]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Elu)]
    [InlineData(ActivationKind.Selu)]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Softplus)]
    [InlineData(ActivationKind.Swish)]
    public void A_fused_layer_equals_the_layer_then_its_activation(ActivationKind kind)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        var s = new Conv2DShape(2, 6, 5, 3, 4, 3, 3, 1, 1, Padding.Same);
        var prelu = new PReluShape(2, [6, 5, 4], [1, 2]);
        var act = kind switch
        {
            ActivationKind.Relu => FusedActivation.Relu,
            ActivationKind.LeakyRelu => FusedActivation.Leaky(0.2f),
            ActivationKind.PRelu => FusedActivation.Parametric(prelu),
            ActivationKind.Elu => FusedActivation.Elu(0.8f),
            _ => FusedActivation.Of(kind),
        };
        using var x = Up(Det.Floats(s.InputLength, 1));
        using var k = Up(Det.Floats(s.KernelLength, 2, -0.5, 0.5));
        using var b = Up(Det.Floats(s.BiasLength, 3));
        using var alpha = Up(Det.Floats(prelu.AlphaLength, 4, 0, 0.5));
        using var alphaOrNull = kind == ActivationKind.PRelu ? alpha : null;

        // Fused.
        using var z = Zeros(s.OutputLength);
        using var y = Zeros(s.OutputLength);
        using var dy = Up(Det.Floats(s.OutputLength, 5));
        using var dx = Zeros(s.InputLength);
        using var dk = Zeros(s.KernelLength);
        using var db = Zeros(s.BiasLength);
        using var dalpha = Zeros(prelu.AlphaLength);
        _backend.Conv2DForward(s, act, x, k, b, alphaOrNull, z, y);
        _backend.Conv2DBackward(s, act, x, k, alphaOrNull, z, dy, dx, dk, db, kind == ActivationKind.PRelu ? dalpha : null);

        // Separate.
        using var z2 = Zeros(s.OutputLength);
        using var y2 = Zeros(s.OutputLength);
        using var dy2 = Up(Det.Floats(s.OutputLength, 5));
        using var dz2 = Zeros(s.OutputLength);
        using var dx2 = Zeros(s.InputLength);
        using var dk2 = Zeros(s.KernelLength);
        using var db2 = Zeros(s.BiasLength);
        using var dalpha2 = Zeros(prelu.AlphaLength);
        _backend.Conv2DForward(s, FusedActivation.Linear, x, k, b, null, null, z2);
        _backend.ActivationForward(act, z2, alphaOrNull, y2);
        _backend.ActivationBackward(act, z2, alphaOrNull, dy2, dz2, kind == ActivationKind.PRelu ? dalpha2 : null);
        _backend.Conv2DBackward(s, FusedActivation.Linear, x, k, null, null, dz2, dx2, dk2, db2, null);

        Close.Assert(Down(y2), Down(y), Close.Forward, "fused output");
        Close.Assert(Down(z2), Down(z), Close.Forward, "fused pre-activation");
        Close.Assert(Down(dx2), Down(dx), Close.Gradient, "fused input gradient");
        Close.Assert(Down(dk2), Down(dk), Close.Gradient, "fused kernel gradient");
        Close.Assert(Down(db2), Down(db), Close.Gradient, "fused bias gradient");
        if (kind == ActivationKind.PRelu)
            Close.Assert(Down(dalpha2), Down(dalpha), Close.Gradient, "fused alpha gradient");

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, _onHost.Covers(act), $"fused {kind}");
    }

    [Theory]
    [InlineData(ActivationKind.PRelu, 1, 2, 2, Padding.Valid)] // the study's first: windows that tile the map, one input channel
    [InlineData(ActivationKind.PRelu, 6, 2, 2, Padding.Valid)] // the study's second: rows of the window long enough for vectors
    [InlineData(ActivationKind.Relu, 1, 3, 2, Padding.Same)]   // overlapping windows over a padded map: the general path
    [InlineData(ActivationKind.Linear, 6, 2, 2, Padding.Valid)]
    [InlineData(ActivationKind.Swish, 1, 3, 3, Padding.Valid)] // the last row and column left out
    [InlineData(ActivationKind.Elu, 6, 3, 3, Padding.Valid)]
    [InlineData(ActivationKind.PRelu, 6, 2, 2, Padding.Same, 13)] // an 11 x 11 map: 'same' pads after the last row and column
    [InlineData(ActivationKind.Relu, 20, 2, 2, Padding.Valid, 12, 21)] // channels past a vector (16) in and out, each with a partial one
    [InlineData(ActivationKind.Relu, 1, 2, 2, Padding.Valid)] // a first layer, each rectifier: the C kernels' path in registers
    [InlineData(ActivationKind.LeakyRelu, 1, 2, 2, Padding.Valid, 13, 20)]
    [InlineData(ActivationKind.Linear, 1, 2, 2, Padding.Valid, 12, 32)]
    [InlineData(ActivationKind.PRelu, 1, 2, 2, Padding.Valid, 13, 20)]
    [InlineData(ActivationKind.PRelu, 20, 2, 2, Padding.Valid, 13, 21)] // 8 or more input channels: the C kernels' Winograd path, pooled in registers
    [InlineData(ActivationKind.LeakyRelu, 8, 2, 2, Padding.Valid, 9, 16)] // a 7 x 7 map pooled to 3 x 3: F(4x4) by the map's choice (its 4x4 tiles hang over)
    [InlineData(ActivationKind.Linear, 9, 2, 2, Padding.Valid, 13, 20)]
    [InlineData(ActivationKind.Elu, 8, 2, 2, Padding.Valid)] // Winograd's outputs through the tile's passes: not a rectifier
    [InlineData(ActivationKind.PRelu, 6, 2, 2, Padding.Valid, 12, 8, Padding.Same)] // a 'same' convolution: windows that read the padding
    [InlineData(ActivationKind.Relu, 5, 3, 3, Padding.Valid, 11, 12, Padding.Same, 2)] // strides of 2, padded after the last row and column
    [InlineData(ActivationKind.PRelu, 1, 2, 2, Padding.Valid, 12, 16, Padding.Same)] // a 'same' first layer: OpenCL's kernel gradient by filters over the padding
    [InlineData(ActivationKind.PRelu, 32, 2, 2, Padding.Valid, 16, 64, Padding.Valid, 1, 24)] // 24 larger images: OpenCL's kernel gradient in chunks of images
    public void A_convolution_pooled_in_the_same_call_computes_what_the_two_calls_compute_with_its_input_gradient_over_the_pooled_one(ActivationKind kind, int inChannels, int window, int stride, Padding padding, int size = 12, int filters = 8,
        Padding convPadding = Padding.Valid, int convStride = 1, int batch = 5)
    {
        foreach (var sharing in kind == ActivationKind.PRelu ? ["per element", "channel-wise", "irregular"] : new[] { "" })
            PooledConvolutionAgreesWithTheTwoCalls(kind, sharing, inChannels, window, stride, padding, size, filters, convPadding, convStride, batch);
    }

    // The pooled output is the same to the bit (the same products, pooled the same way); the gradients are the same sums in
    // another order where a backend follows the pooling's winners (the C kernels). What the convolution's output, z and
    // dL/dz hold afterwards is the backend's own: only the pooled output and the gradients are the call's results.
    private void PooledConvolutionAgreesWithTheTwoCalls(ActivationKind kind, string sharing, int inChannels, int window, int stride, Padding padding,
        int size, int filters, Padding convPadding, int convStride, int batch)
    {
        long fallbacksBefore = _backend.HostFallbacks;
        // Five images by default (of 10 x 10 positions): the C kernels multiply two images at a time, so the last group is partial.
        var conv = new Conv2DShape(batch, size, size, inChannels, filters, 3, 3, convStride, convStride, convPadding);
        int map = conv.OutHeight;
        var pool = new Pool2DShape(batch, map, map, filters, window, window, stride, stride, padding);
        var prelu = sharing switch
        {
            "channel-wise" => new PReluShape(batch, [map, map, filters], [1, 2]),
            "irregular" => new PReluShape(batch, [map, map, filters], [1]),
            _ => new PReluShape(batch, [map, map, filters]),
        };
        var act = kind switch
        {
            ActivationKind.PRelu => FusedActivation.Parametric(prelu),
            ActivationKind.Linear => FusedActivation.Linear,
            ActivationKind.Elu => FusedActivation.Elu(0.7f),
            ActivationKind.LeakyRelu => FusedActivation.Leaky(0.3f),
            _ => FusedActivation.Of(kind),
        };
        bool linear = kind == ActivationKind.Linear, parametric = kind == ActivationKind.PRelu;
        using var x = Up(Det.Floats(conv.InputLength, 41));
        using var k = Up(Det.Floats(conv.KernelLength, 42, -0.5, 0.5));
        using var b = Up(Det.Floats(conv.BiasLength, 43));
        using var alpha = Up(Det.Floats(prelu.AlphaLength, 44, -0.2, 0.5));
        var dpooledValues = Det.Floats(pool.OutputLength, 45);
        var alphaOrNull = parametric ? alpha : null;

        // withInput false: no input gradient asked for, as for a first layer (the C kernels then go image by image).
        // dropout: a Dropout after the pooling, in the fused call or as its own calls; the result is then its output.
        float[][] Run(bool fused, bool withInput, bool dropout)
        {
            using var z = Zeros(conv.OutputLength);
            using var y = Zeros(conv.OutputLength);
            using var pooled = Zeros(pool.OutputLength);
            using var mask = Zeros(pool.OutputLength);
            using var dropped = Zeros(pool.OutputLength);
            const float rate = 0.3f;
            const ulong seed = 7, step = 11;
            using var dy = Up(Det.Floats(conv.OutputLength, 46)); // overwritten
            // The input gradient in the very memory of the pooled gradient, as the generated code routes them; with the dropout
            // one float into its buffer, off any vector's boundary (OpenCL's input gradient then stores its vectors in halves).
            int at = dropout ? 1 : 0;
            using var shared = Zeros(Math.Max(conv.InputLength, pool.OutputLength) + at);
            var dpooled = shared.Slice(at, pool.OutputLength);
            _backend.Upload(dpooledValues, dpooled);
            var dx = withInput ? shared.Slice(at, conv.InputLength) : null;
            using var dk = Zeros(conv.KernelLength);
            using var db = Zeros(conv.BiasLength);
            using var dalpha = Zeros(prelu.AlphaLength);
            var zOrNull = linear ? null : z;
            if (fused)
            {
                _backend.Conv2DPoolForward(conv, act, pool, x, k, b, alphaOrNull, zOrNull, y, pooled,
                    dropout ? new DropoutAfter(rate, seed, step, mask, dropped) : null);
                _backend.Conv2DPoolBackward(conv, act, pool, x, k, alphaOrNull, zOrNull, y, dpooled, dy, dx, dk, db, parametric ? dalpha : null,
                    dropout ? mask : null);
            }
            else
            {
                _backend.Conv2DForward(conv, act, x, k, b, alphaOrNull, zOrNull, y);
                _backend.MaxPool2DForward(pool, y, pooled);
                if (dropout)
                {
                    _backend.DropoutForward(rate, seed, step, pooled, mask, dropped);
                    _backend.DropoutBackward(mask, dpooled, dpooled);
                }
                _backend.MaxPool2DBackward(pool, y, dpooled, dy);
                _backend.Conv2DBackward(conv, act, x, k, alphaOrNull, zOrNull, dy, dx, dk, db, parametric ? dalpha : null);
            }
            return [Down(dropout ? dropped : pooled), dx is null ? [] : Down(dx), Down(dk), Down(db), Down(dalpha), Down(mask)];
        }

        string[] names = ["input gradient", "kernel gradient", "bias gradient", "alpha gradient"];
        foreach (bool dropout in new[] { false, true })
        {
            var apart = Run(fused: false, withInput: true, dropout);
            string what = $"{kind} {sharing}, Cin {inChannels}, {map}x{map} map of a {convPadding} convolution of stride {convStride}, " +
                $"{window}x{window}/{stride} {padding}{(dropout ? ", dropout" : "")}";
            foreach (bool withInput in new[] { true, false })
            {
                var together = Run(fused: true, withInput, dropout);
                string how = withInput ? what : $"{what}, no input gradient";
                Assert.True(apart[0].AsSpan().SequenceEqual(together[0]), $"{how}: the {(dropout ? "dropout's" : "pooled")} output differs");
                Assert.True(apart[5].AsSpan().SequenceEqual(together[5]), $"{how}: the dropout's mask differs");
                for (int i = withInput ? 0 : 1; i < names.Length; i++)
                    Close.Assert(apart[i + 1], together[i + 1], Close.Gradient, $"{how}: the {names[i]}");
            }
        }
        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, $"conv + pool {kind}");
    }

    [Fact]
    public void A_pooled_call_whose_pooling_does_not_take_the_convolutions_output_or_whose_dropout_has_a_bad_rate_or_a_short_mask_is_refused()
    {
        var conv = new Conv2DShape(2, 8, 8, 1, 4, 3, 3);
        var pool = new Pool2DShape(2, 6, 6, 4, 2, 2);
        var otherPool = new Pool2DShape(2, 6, 5, 4, 2, 2);
        using var x = Zeros(conv.InputLength);
        using var k = Zeros(conv.KernelLength);
        using var y = Zeros(conv.OutputLength);
        using var pooled = Zeros(pool.OutputLength);
        using var otherPooled = Zeros(otherPool.OutputLength);
        using var mask = Zeros(pool.OutputLength);
        using var shortMask = Zeros(pool.OutputLength - 1);

        Refused.Assert<ArgumentException>(() => _backend.Conv2DPoolForward(conv, FusedActivation.Linear, otherPool, x, k, null, null, null, y, otherPooled),
            "pool", "the pooling's input (2, 6, 5, 4) is not the convolution's output (2, 6, 6, 4)");
        Refused.Assert<ArgumentOutOfRangeException>(() => _backend.Conv2DPoolForward(conv, FusedActivation.Linear, pool, x, k, null, null, null, y,
            pooled, new DropoutAfter(1f, 1, 1, mask, pooled)), "dropout", "Conv2D + MaxPooling2D forward: rate must be in [0, 1)", "1");
        Refused.Assert<ArgumentException>(() => _backend.Conv2DPoolForward(conv, FusedActivation.Linear, pool, x, k, null, null, null, y,
            pooled, new DropoutAfter(0.5f, 1, 1, shortMask, pooled)), "dropout.Mask", $"holds {pool.OutputLength - 1} floats, the shape needs {pool.OutputLength}");
        Refused.Assert<ArgumentException>(() => _backend.Conv2DPoolBackward(conv, FusedActivation.Linear, pool, x, k, null, null, y, pooled, y, null,
            k, null, null, shortMask), "dropoutMask", $"holds {pool.OutputLength - 1} floats, the shape needs {pool.OutputLength}");
    }

    [Fact]
    public void Slices_of_one_arena_work_as_buffers()
    {
        long fallbacksBefore = _backend.HostFallbacks;
        using var arena = _backend.Allocate(100);
        using var a = arena.Slice(10, 20);
        using var b = arena.Slice(40, 20);
        _backend.Upload(Det.Floats(20, 1), a);

        _backend.ActivationForward(FusedActivation.Relu, a, null, b);

        var all = Down(arena);
        Assert.Equal(Det.Floats(20, 1).Select(v => Math.Max(v, 0f)), all[40..60]);
        Assert.All(all[..10], v => Assert.Equal(0f, v));
        Assert.All(all[60..], v => Assert.Equal(0f, v));

        HostFallbackDeclaration.Check(_backend, fallbacksBefore, false, "slices");
    }

    [Fact]
    public void Buffers_of_the_wrong_length_are_refused_with_the_name_and_the_sizes()
    {
        var s = new DenseShape(2, 3, 4);
        using var x = Zeros(s.InputLength);
        using var k = Zeros(s.KernelLength + 1);
        using var y = Zeros(s.OutputLength);

        var error = Assert.Throws<ArgumentException>(() => _backend.DenseForward(s, FusedActivation.Linear, x, k, null, null, null, y));

        Assert.Contains("Dense forward: kernel holds 13 floats, the shape needs 12", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fused_activation_without_its_buffers_is_refused()
    {
        var s = new DenseShape(2, 3, 4);
        var prelu = new PReluShape(2, [4]);
        using var x = Zeros(s.InputLength);
        using var k = Zeros(s.KernelLength);
        using var y = Zeros(s.OutputLength);
        using var z = Zeros(s.OutputLength);

        Assert.Contains("preActivation is required",
            Assert.Throws<ArgumentException>(() => _backend.DenseForward(s, FusedActivation.Relu, x, k, null, null, null, y)).Message, StringComparison.Ordinal);
        Assert.Contains("alpha is required",
            Assert.Throws<ArgumentException>(() => _backend.DenseForward(s, FusedActivation.Parametric(prelu), x, k, null, null, z, y)).Message, StringComparison.Ordinal);
        var wrongPRelu = FusedActivation.Parametric(new PReluShape(2, [5]));
        Assert.Contains("covers 2 x 5 elements",
            Assert.Throws<ArgumentException>(() => _backend.DenseForward(s, wrongPRelu, x, k, null, null, z, y)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_buffer_of_another_backend_or_a_disposed_one_is_refused()
    {
        using var other = new Prelu.Backends.ManagedBackend();
        using var foreign = other.Allocate(4);
        using var mine = Zeros(4);
        var disposed = Zeros(4);
        disposed.Dispose();

        Refused.Assert<ArgumentException>(() => _backend.ActivationForward(FusedActivation.Relu, foreign, null, mine), "x",
            $"x belongs to the managed backend, not to {_backend.Name}");
        Assert.Throws<ObjectDisposedException>(() => _backend.ActivationForward(FusedActivation.Relu, disposed, null, mine));
        Refused.Assert<ArgumentException>(() => _backend.Upload(new float[3], mine), null, "upload: the host span holds 3 floats, the buffer 4");
    }
}

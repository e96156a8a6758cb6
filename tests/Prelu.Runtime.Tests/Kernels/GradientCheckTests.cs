using Prelu.Kernels;
using Prelu.Reference;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>
/// Every input and parameter gradient of every operation against central finite differences, in
/// float64 (the reference kernels are generic, so this is the very code the managed backend runs).
/// The scalar checked is L = sum(r * y) for a fixed random r, so dL/dy = r.
/// </summary>
public sealed class GradientCheckTests
{
    private const double Step = 1e-5;

    public static TheoryData<int, int, int, int, int, int, int, int, int, Padding> ConvShapes => new()
    {
        // odd sizes, strides, both paddings, non-square kernels
        { 2, 7, 5, 3, 4, 3, 2, 1, 1, Padding.Valid },
        { 1, 9, 7, 2, 3, 3, 3, 2, 2, Padding.Same },
        { 3, 5, 6, 1, 5, 2, 4, 1, 3, Padding.Same },
        { 1, 6, 6, 3, 2, 1, 1, 2, 1, Padding.Valid },
        { 2, 4, 3, 5, 3, 4, 3, 1, 1, Padding.Same },
        // the study's two convolutions (batch 1; large tensors are sampled)
        { 1, 28, 28, 1, 32, 3, 3, 1, 1, Padding.Valid },
        { 1, 13, 13, 32, 64, 3, 3, 1, 1, Padding.Valid },
    };

    [Theory]
    [MemberData(nameof(ConvShapes))]
    public void Conv2D(int n, int h, int w, int cin, int f, int kh, int kw, int sy, int sx, Padding padding)
    {
        var s = new Conv2DShape(n, h, w, cin, f, kh, kw, sy, sx, padding);
        var x = Det.Doubles(s.InputLength, 1);
        var k = Det.Doubles(s.KernelLength, 2, -0.5, 0.5);
        var b = Det.Doubles(s.BiasLength, 3);
        var r = Det.Doubles(s.OutputLength, 4);
        var y = new double[s.OutputLength];
        double Loss()
        {
            Prelu.Reference.Conv2D.Forward<double>(s, x, k, b, y);
            return Dot(r, y);
        }

        var dx = new double[s.InputLength];
        var dk = new double[s.KernelLength];
        var db = new double[s.BiasLength];
        Prelu.Reference.Conv2D.BackwardInput<double>(s, k, r, dx);
        Prelu.Reference.Conv2D.BackwardWeights<double>(s, x, r, dk, db);

        Verify("Conv2D input", x, Loss, dx);
        Verify("Conv2D kernel", k, Loss, dk);
        Verify("Conv2D bias", b, Loss, db);
    }

    [Theory]
    [InlineData(2, 7, 6, 3, 1, 3, 2, 1, 1, Padding.Valid)]
    [InlineData(1, 9, 8, 4, 3, 3, 3, 2, 2, Padding.Same)]
    [InlineData(3, 5, 7, 5, 2, 2, 4, 1, 3, Padding.Same)]
    public void DepthwiseConv2D(int n, int h, int w, int c, int m, int kh, int kw, int sy, int sx, Padding padding)
    {
        var s = new DepthwiseConv2DShape(n, h, w, c, m, kh, kw, sy, sx, padding);
        var x = Det.Doubles(s.InputLength, 11);
        var k = Det.Doubles(s.KernelLength, 12, -0.5, 0.5);
        var b = Det.Doubles(s.BiasLength, 13);
        var r = Det.Doubles(s.OutputLength, 14);
        var y = new double[s.OutputLength];
        double Loss()
        {
            Prelu.Reference.DepthwiseConv2D.Forward<double>(s, x, k, b, y);
            return Dot(r, y);
        }

        var dx = new double[s.InputLength];
        var dk = new double[s.KernelLength];
        var db = new double[s.BiasLength];
        Prelu.Reference.DepthwiseConv2D.BackwardInput<double>(s, k, r, dx);
        Prelu.Reference.DepthwiseConv2D.BackwardWeights<double>(s, x, r, dk, db);

        Verify("DepthwiseConv2D input", x, Loss, dx);
        Verify("DepthwiseConv2D kernel", k, Loss, dk);
        Verify("DepthwiseConv2D bias", b, Loss, db);
    }

    [Theory]
    [InlineData(2, 7, 5, 3, 2, 2, 2, 2, Padding.Valid)]
    [InlineData(1, 7, 7, 2, 3, 3, 2, 2, Padding.Same)]
    [InlineData(2, 5, 8, 3, 2, 3, 1, 2, Padding.Valid)]
    [InlineData(1, 26, 26, 32, 2, 2, 2, 2, Padding.Valid)]
    [InlineData(1, 11, 11, 64, 2, 2, 2, 2, Padding.Valid)]
    public void MaxPooling2D(int n, int h, int w, int c, int ph, int pw, int sy, int sx, Padding padding)
    {
        var s = new Pool2DShape(n, h, w, c, ph, pw, sy, sx, padding);
        var x = Det.Doubles(s.InputLength, 5);
        var r = Det.Doubles(s.OutputLength, 6);
        var y = new double[s.OutputLength];
        double Loss()
        {
            Prelu.Reference.MaxPool2D.Forward<double>(s, x, y);
            return Dot(r, y);
        }
        var dx = new double[s.InputLength];
        Prelu.Reference.MaxPool2D.Backward<double>(s, x, r, dx);

        Verify("MaxPooling2D input", x, Loss, dx);
    }

    [Theory]
    [InlineData(3, 7, 5)]
    [InlineData(1, 1, 1)]
    [InlineData(5, 13, 11)]
    [InlineData(2, 1600, 256)]
    [InlineData(4, 256, 10)]
    public void Dense(int batch, int inputs, int units)
    {
        var s = new DenseShape(batch, inputs, units);
        var x = Det.Doubles(s.InputLength, 7);
        var k = Det.Doubles(s.KernelLength, 8, -0.5, 0.5);
        var b = Det.Doubles(s.BiasLength, 9);
        var r = Det.Doubles(s.OutputLength, 10);
        var y = new double[s.OutputLength];
        double Loss()
        {
            Prelu.Reference.Dense.Forward<double>(s, x, k, b, y);
            return Dot(r, y);
        }
        var dx = new double[s.InputLength];
        var dk = new double[s.KernelLength];
        var db = new double[s.BiasLength];
        Prelu.Reference.Dense.BackwardInput<double>(s, k, r, dx);
        Prelu.Reference.Dense.BackwardWeights<double>(s, x, r, dk, db);

        Verify("Dense input", x, Loss, dx);
        Verify("Dense kernel", k, Loss, dk);
        Verify("Dense bias", b, Loss, db);
    }

    public static TheoryData<int, int[], int[]> PReluShapes => new()
    {
        { 3, [5, 4, 3], [] },          // per element
        { 2, [5, 4, 3], [1, 2] },      // channel-wise
        { 2, [5, 4, 3], [1, 2, 3] },   // channel-shared
        { 2, [5, 4, 3], [2] },         // shared along width only
        { 2, [3, 7, 5], [1, 3] },      // shared along height and channels
        { 4, [9], [] },                // after a dense layer
        { 4, [9], [1] },
        { 2, [26, 26, 32], [] },       // the study's first PReLU
        { 2, [11, 11, 64], [1, 2] },   // channel-wise on the study's second map
    };

    [Theory]
    [MemberData(nameof(PReluShapes))]
    public void PReLU_input_and_alpha_in_every_sharing_mode(int batch, int[] dims, int[] shared)
    {
        var s = new PReluShape(batch, dims, shared);
        var x = Det.Doubles(s.Length, 11);
        var alpha = Det.Doubles(s.AlphaLength, 12, 0, 0.5);
        var r = Det.Doubles(s.Length, 13);
        var y = new double[s.Length];
        double Loss()
        {
            Prelu.Reference.PRelu.Forward<double>(s, x, alpha, y);
            return Dot(r, y);
        }
        var dx = new double[s.Length];
        var dalpha = new double[s.AlphaLength];
        Prelu.Reference.PRelu.Backward<double>(s, x, alpha, r, dx, dalpha);

        Verify("PReLU input", x, Loss, dx);
        Verify("PReLU alpha", alpha, Loss, dalpha);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReLU_and_LeakyReLU(bool leaky)
    {
        var x = Det.Doubles(101, 14);
        var r = Det.Doubles(101, 15);
        var y = new double[101];
        double Loss()
        {
            if (leaky)
                Relu.LeakyForward(0.1, x, y);
            else
                Relu.Forward<double>(x, y);
            return Dot(r, y);
        }
        var dx = new double[101];
        if (leaky)
            Relu.LeakyBackward(0.1, x, r, dx);
        else
            Relu.Backward<double>(x, r, dx);

        Verify(leaky ? "LeakyReLU input" : "ReLU input", x, Loss, dx);
    }

    [Theory]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Elu)]
    [InlineData(ActivationKind.Selu)]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Softplus)]
    [InlineData(ActivationKind.Swish)]
    public void Pointwise_activations(ActivationKind kind)
    {
        var x = Det.Doubles(101, 16, -5, 5);
        var r = Det.Doubles(101, 17);
        var y = new double[101];
        double Loss()
        {
            PointwiseActivation.Forward(kind, 0.7, x, y);
            return Dot(r, y);
        }
        var dx = (double[])r.Clone();
        PointwiseActivation.Backward(kind, 0.7, x, dx);

        Verify($"{kind} input", x, Loss, dx, samples: 101);
    }

    [Theory]
    [InlineData(2, 7, 5, 3, 2, 2, 2, 2, Padding.Valid)]
    [InlineData(1, 7, 7, 2, 3, 3, 2, 2, Padding.Same)]
    [InlineData(2, 6, 6, 3, 3, 3, 1, 1, Padding.Valid)]
    [InlineData(2, 5, 4, 3, 5, 4, 5, 4, Padding.Valid)] // global average pooling: the whole map
    public void AveragePooling2D(int n, int h, int w, int c, int ph, int pw, int sy, int sx, Padding padding)
    {
        var s = new Pool2DShape(n, h, w, c, ph, pw, sy, sx, padding);
        var x = Det.Doubles(s.InputLength, 18);
        var r = Det.Doubles(s.OutputLength, 19);
        var y = new double[s.OutputLength];
        double Loss()
        {
            AvgPool2D.Forward<double>(s, x, y);
            return Dot(r, y);
        }
        var dx = new double[s.InputLength];
        AvgPool2D.Backward<double>(s, r, dx);

        Verify("AveragePooling2D input", x, Loss, dx);
    }

    [Theory]
    [InlineData(3, 20, 4, true)]
    [InlineData(5, 1, 7, true)]
    [InlineData(2, 9, 3, false)]
    public void BatchNormalization_in_training(int batch, int positions, int channels, bool affine)
    {
        var s = new BatchNormShape(batch, positions, channels);
        var x = Det.Doubles(s.Length, 20, -2, 3);
        var gamma = affine ? Det.Doubles(channels, 21, 0.5, 1.5) : [];
        var beta = affine ? Det.Doubles(channels, 22) : [];
        var r = Det.Doubles(s.Length, 23);
        var y = new double[s.Length];
        var mean = new double[channels];
        var variance = new double[channels];
        double Loss()
        {
            BatchNormalization.Forward<double>(s, true, 0.99, 1e-3, x, gamma, beta, mean, variance, y);
            return Dot(r, y);
        }
        var dx = new double[s.Length];
        var dgamma = new double[affine ? channels : 0];
        var dbeta = new double[affine ? channels : 0];
        BatchNormalization.Backward<double>(s, 1e-3, x, gamma, r, dx, dgamma, dbeta);

        Verify("BatchNormalization input", x, Loss, dx);
        if (affine)
        {
            Verify("BatchNormalization gamma", gamma, Loss, dgamma);
            Verify("BatchNormalization beta", beta, Loss, dbeta);
        }
    }

    [Fact]
    public void Dropout()
    {
        var x = Det.Doubles(333, 16);
        var r = Det.Doubles(333, 17);
        var mask = new double[333];
        var y = new double[333];
        double Loss()
        {
            Prelu.Reference.Dropout.Forward<double>(0.3f, 5, 9, x, mask, y);
            return Dot(r, y);
        }
        Loss();
        var dx = new double[333];
        Prelu.Reference.Dropout.Backward<double>(mask, r, dx);

        Verify("Dropout input", x, Loss, dx);
    }

    [Theory]
    [InlineData(LossKind.CategoricalCrossentropy, 5, 10)]
    [InlineData(LossKind.CategoricalCrossentropy, 1, 2)]
    [InlineData(LossKind.SparseCategoricalCrossentropy, 3, 7)]
    [InlineData(LossKind.BinaryCrossentropy, 4, 3)]
    [InlineData(LossKind.BinaryCrossentropy, 5, 1)]
    [InlineData(LossKind.MeanSquaredError, 3, 4)]
    [InlineData(LossKind.MeanAbsoluteError, 3, 4)]
    [InlineData(LossKind.Huber, 4, 3)]
    public void Every_loss(LossKind kind, int batch, int outputs)
    {
        // Huber with delta 0.7 over errors in [-2, 2): both of its pieces are met.
        var loss = new LossFunction(kind, 0.7f);
        var z = Det.Doubles(batch * outputs, 18, -2, 2);
        var targets = kind switch
        {
            LossKind.CategoricalCrossentropy => Array.ConvertAll(Det.OneHot(batch, outputs), v => (double)v),
            LossKind.SparseCategoricalCrossentropy => Enumerable.Range(0, batch).Select(b => (double)((3 * b + 1) % outputs)).ToArray(),
            LossKind.BinaryCrossentropy => Det.Doubles(batch * outputs, 20, 0, 1), // soft labels: the loss is not only the hard case's
            _ => Det.Doubles(batch * outputs, 20, -2, 2),
        };
        var p = new double[batch * outputs];
        double Loss() => Prelu.Reference.Loss.ForwardBackward<double>(loss, batch, outputs, z, targets, p, default).LossSum / batch;
        var dz = new double[batch * outputs];
        Prelu.Reference.Loss.ForwardBackward<double>(loss, batch, outputs, z, targets, p, dz);

        Verify($"{loss} outputs", z, Loss, dz);
    }

    [Fact]
    public void Categorical_cross_entropy_with_soft_labels_that_do_not_sum_to_one()
    {
        var z = Det.Doubles(12, 21, -2, 2);
        var targets = Det.Doubles(12, 22, 0, 1); // rows summing to about 1.5: the gradient is p sum(y) - y, not p - y
        var p = new double[12];
        double Loss() => Prelu.Reference.Loss.ForwardBackward<double>(LossFunction.CategoricalCrossentropy, 4, 3, z, targets, p, default).LossSum / 4;
        var dz = new double[12];
        Prelu.Reference.Loss.ForwardBackward<double>(LossFunction.CategoricalCrossentropy, 4, 3, z, targets, p, dz);

        Verify("categorical cross-entropy, soft labels", z, Loss, dz);
    }

    [Fact]
    public void Regularizer_penalty()
    {
        var w = Det.Doubles(50, 19);
        var regularizer = new Regularizer(0.01f, 0.03f);
        var scratch = new double[50];
        double Loss() => Regularization.AddPenaltyGradient<double>(regularizer, w, scratch);
        var grad = new double[50];
        Regularization.AddPenaltyGradient<double>(regularizer, w, grad);

        Verify("L1L2 penalty", w, Loss, grad);
    }

    // Central differences on up to 40 coordinates (all of them for small tensors).
    private static void Verify(string what, double[] values, Func<double> loss, double[] analytic, int samples = 40)
    {
        Assert.Equal(values.Length, analytic.Length);
        var indices = values.Length <= samples
            ? Enumerable.Range(0, values.Length)
            : Enumerable.Range(0, samples).Select(i => (int)((long)i * 7919 % values.Length));
        foreach (int i in indices)
        {
            double saved = values[i];
            values[i] = saved + Step;
            double plus = loss();
            values[i] = saved - Step;
            double minus = loss();
            values[i] = saved;
            double numeric = (plus - minus) / (2 * Step);
            double tolerance = 1e-6 + 1e-5 * Math.Abs(numeric);
            Assert.True(Math.Abs(numeric - analytic[i]) <= tolerance,
                $"{what}[{i}]: analytic {analytic[i]:G9}, finite difference {numeric:G9}");
        }
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }
}

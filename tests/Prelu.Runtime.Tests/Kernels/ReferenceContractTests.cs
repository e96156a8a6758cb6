using Prelu.Kernels;
using Prelu.Reference;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>
/// The reference kernels called directly, as the float64 gradient checks and other backends' tests call
/// them, on the edges the backend contract's own checks keep away: buffers of the wrong length, output
/// buffers that hold garbage, values exactly at a kink, ties, huge logits, and the dropout hash pinned
/// to the values its formula gives (every backend must draw the same masks, and a resumed run the same
/// masks as the run it continues).
/// </summary>
public sealed class ReferenceContractTests
{
    public static TheoryData<string, Action, string, string> WrongLengths => new()
    {
        { "Conv2D forward", () => Conv2D.Forward<float>(new Conv2DShape(1, 3, 3, 1, 2, 2, 2), new float[8], new float[8], [], new float[8]), "input", "Conv2D forward: input holds 8 elements, the shape needs 9" },
        { "Dense forward", () => Dense.Forward<float>(new DenseShape(2, 3, 4), new float[6], new float[11], [], new float[8]), "kernel", "Dense forward: kernel holds 11 elements, the shape needs 12" },
        { "Dense forward bias", () => Dense.Forward<float>(new DenseShape(2, 3, 4), new float[6], new float[12], new float[3], new float[8]), "bias", "Dense forward: bias holds 3 elements, the shape needs 4 (or none)" },
        { "Dense backward input", () => Dense.BackwardInput<float>(new DenseShape(2, 3, 4), new float[12], new float[8], new float[5]), "inputGrad", "Dense backward (input): inputGrad holds 5 elements, the shape needs 6" },
        { "Dense backward weights", () => Dense.BackwardWeights<float>(new DenseShape(2, 3, 4), new float[6], new float[7], new float[12], []), "outputGrad", "Dense backward (weights): outputGrad holds 7 elements, the shape needs 8" },
        { "Dense backward bias", () => Dense.BackwardWeights<float>(new DenseShape(2, 3, 4), new float[6], new float[8], new float[12], new float[5]), "biasGrad", "Dense backward (weights): biasGrad holds 5 elements, the shape needs 4 (or none)" },
        { "MaxPooling2D forward", () => MaxPool2D.Forward<float>(new Pool2DShape(1, 4, 4, 1, 2, 2), new float[16], new float[3]), "output", "MaxPooling2D forward: output holds 3 elements, the shape needs 4" },
        { "MaxPooling2D backward", () => MaxPool2D.Backward<float>(new Pool2DShape(1, 4, 4, 1, 2, 2), new float[16], new float[4], new float[15]), "inputGrad", "MaxPooling2D backward: inputGrad holds 15 elements, the shape needs 16" },
        { "PReLU forward", () => PRelu.Forward<float>(new PReluShape(1, [4]), new float[4], new float[3], new float[4]), "alpha", "PReLU forward: alpha holds 3 elements, the shape needs 4" },
        { "PReLU backward", () => PRelu.Backward<float>(new PReluShape(1, [4]), new float[4], new float[4], new float[4], new float[4], new float[2]), "alphaGrad", "PReLU backward: alphaGrad holds 2 elements, the shape needs 4" },
        { "ReLU forward", () => Relu.Forward<float>(new float[4], new float[3]), "y", "ReLU forward: y holds 3 elements, the shape needs 4" },
        { "ReLU backward", () => Relu.Backward<float>(new float[4], new float[4], new float[5]), "dx", "ReLU backward: dx holds 5 elements, the shape needs 4" },
        { "LeakyReLU forward", () => Relu.LeakyForward(0.1f, new float[4], new float[3]), "y", "LeakyReLU forward: y holds 3 elements, the shape needs 4" },
        { "LeakyReLU backward", () => Relu.LeakyBackward(0.1f, new float[4], new float[3], new float[4]), "dy", "LeakyReLU backward: dy holds 3 elements, the shape needs 4" },
        { "Dropout forward", () => Dropout.Forward<float>(0.5f, 1, 1, new float[4], new float[3], new float[4]), "mask", "Dropout forward: mask holds 3 elements, the shape needs 4" },
        { "Dropout backward", () => Dropout.Backward<float>(new float[4], new float[4], new float[2]), "dx", "Dropout backward: dx holds 2 elements, the shape needs 4" },
        { "Adam", () => ParameterUpdates.Adam<float>(new AdamSettings(), 1, new float[4], new float[4], new float[4], new float[3]), "v", "Adam: v holds 3 elements, the shape needs 4" },
        { "SGD", () => ParameterUpdates.Sgd<float>(new SgdSettings(0.1f), new float[4], new float[3], []), "grad", "SGD: grad holds 3 elements, the shape needs 4" },
        { "SGD with momentum", () => ParameterUpdates.Sgd<float>(new SgdSettings(0.1f, 0.9f), new float[4], new float[4], new float[3]), "velocity", "SGD with momentum: velocity holds 3 elements, the shape needs 4" },
        { "regularizer", () => Regularization.AddPenaltyGradient<float>(new Regularizer(0.1f, 0f), new float[4], new float[3]), "grad", "regularizer: grad holds 3 elements, the shape needs 4" },
        { "constraint", () => Regularization.ApplyConstraint<float>(Constraint.MaxNorm(1f, 0), [2, 3], new float[5]), "param", "MaxNorm constraint: param holds 5 elements, the shape needs 6" },
        { "loss batch", () => Loss.ForwardBackward<float>(LossFunction.CategoricalCrossentropy, 0, 3, [], [], [], []), "batch", "categorical_crossentropy: batch must be at least 1, got 0" },
        { "loss outputs", () => Loss.ForwardBackward<float>(LossFunction.MeanSquaredError, 2, 0, [], [], [], []), "outputs", "mean_squared_error: outputs must be at least 1, got 0" },
        { "loss targets", () => Loss.ForwardBackward<float>(LossFunction.CategoricalCrossentropy, 2, 3, new float[6], new float[5], new float[6], []), "targets", "categorical_crossentropy: targets holds 5 elements, the shape needs 6" },
        { "sparse targets", () => Loss.ForwardBackward<float>(LossFunction.SparseCategoricalCrossentropy, 2, 3, new float[6], new float[6], new float[6], []), "targets", "sparse_categorical_crossentropy: targets holds 6 elements, the shape needs 2" },
        { "loss gradient", () => Loss.ForwardBackward<float>(LossFunction.Huber(), 2, 3, new float[6], new float[6], new float[6], new float[4]), "zGrad", "huber: zGrad holds 4 elements, the shape needs 6 (or none)" },
        { "loss predictions", () => Loss.Predict<float>(LossFunction.CategoricalCrossentropy, 2, 3, new float[6], new float[5]), "predictions", "categorical_crossentropy: predictions holds 5 elements, the shape needs 6" },
    };

    [Theory]
    [MemberData(nameof(WrongLengths))]
    public void A_buffer_of_the_wrong_length_is_refused_by_name(string operation, Action call, string parameter, string message)
    {
        var error = Assert.ThrowsAny<ArgumentException>(call);
        Assert.Equal(parameter, error.ParamName);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        _ = operation;
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(-0.01f)]
    [InlineData(float.NaN)]
    public void A_dropout_rate_outside_zero_to_one_is_refused(float rate)
    {
        Refused.Assert<ArgumentOutOfRangeException>(() => Dropout.Forward<float>(rate, 1, 1, new float[4], new float[4], new float[4]), "rate",
            "Dropout: rate must be in [0, 1)");
        Dropout.Forward<float>(0f, 1, 1, new float[4], new float[4], new float[4]); // zero is a rate: nothing dropped
    }

    [Fact]
    public void Backward_kernels_overwrite_gradients_that_hold_garbage()
    {
        var dense = new DenseShape(2, 3, 4);
        var x = Det.Floats(6, 1);
        var dy = Det.Floats(8, 2);
        var (cleanK, cleanB) = (new float[12], new float[4]);
        Dense.BackwardWeights<float>(dense, x, dy, cleanK, cleanB);
        var (dirtyK, dirtyB) = (Garbage(12), Garbage(4));
        Dense.BackwardWeights<float>(dense, x, dy, dirtyK, dirtyB);
        Assert.Equal(cleanK, dirtyK);
        Assert.Equal(cleanB, dirtyB);

        var pool = new Pool2DShape(1, 4, 4, 2, 2, 2);
        var px = Det.Floats(32, 3);
        var pdy = Det.Floats(8, 4);
        var clean = new float[32];
        MaxPool2D.Backward<float>(pool, px, pdy, clean);
        var dirty = Garbage(32);
        MaxPool2D.Backward<float>(pool, px, pdy, dirty);
        Assert.Equal(clean, dirty);

        var prelu = new PReluShape(2, [3, 2], [1]);
        var ax = Det.Floats(12, 5);
        var alpha = Det.Floats(2, 6, 0, 0.5);
        var ady = Det.Floats(12, 7);
        var (cleanDx, cleanDa) = (new float[12], new float[2]);
        PRelu.Backward<float>(prelu, ax, alpha, ady, cleanDx, cleanDa);
        var (dirtyDx, dirtyDa) = (Garbage(12), Garbage(2));
        PRelu.Backward<float>(prelu, ax, alpha, ady, dirtyDx, dirtyDa);
        Assert.Equal(cleanDx, dirtyDx);
        Assert.Equal(cleanDa, dirtyDa);
    }

    [Fact]
    public void Forward_kernels_without_a_bias_overwrite_outputs_that_hold_garbage()
    {
        var dense = new DenseShape(2, 3, 4);
        var x = Det.Floats(6, 1);
        var k = Det.Floats(12, 2);
        var clean = new float[8];
        Dense.Forward<float>(dense, x, k, [], clean);
        var dirty = Garbage(8);
        Dense.Forward<float>(dense, x, k, [], dirty);
        Assert.Equal(clean, dirty);

        var conv = new Conv2DShape(1, 4, 4, 2, 3, 3, 3);
        var cx = Det.Floats(conv.InputLength, 3);
        var ck = Det.Floats(conv.KernelLength, 4);
        var cleanConv = new float[conv.OutputLength];
        Conv2D.Forward<float>(conv, cx, ck, [], cleanConv);
        var dirtyConv = Garbage(conv.OutputLength);
        Conv2D.Forward<float>(conv, cx, ck, [], dirtyConv);
        Assert.Equal(cleanConv, dirtyConv);
    }

    [Fact]
    public void At_exactly_zero_the_activations_take_their_negative_side_gradient_as_tensorflow_does()
    {
        float[] x = [0f, 0f];
        float[] dy = [3f, -2f];
        var dx = new float[2];

        Relu.Backward<float>(x, dy, dx);
        Assert.Equal([0f, 0f], dx);

        Relu.LeakyBackward(0.25f, x, dy, dx);
        Assert.Equal([0.75f, -0.5f], dx);

        var alphaGrad = new float[2];
        PRelu.Backward<float>(new PReluShape(1, [2]), x, [0.5f, 0.1f], dy, dx, alphaGrad);
        Assert.Equal([1.5f, -0.2f], dx);
        Assert.Equal([0f, 0f], alphaGrad);
    }

    [Fact]
    public void The_l1_gradient_at_exactly_zero_is_zero()
    {
        var grad = new float[3];
        float penalty = Regularization.AddPenaltyGradient<float>(new Regularizer(0.5f, 0f), [0f, 2f, -1f], grad);

        Assert.Equal([0f, 0.5f, -0.5f], grad);
        Assert.Equal(1.5f, penalty);
    }

    [Fact]
    public void Max_pooling_sends_a_tied_windows_gradient_to_its_first_maximum()
    {
        var pool = new Pool2DShape(1, 2, 2, 1, 2, 2);
        var dx = new float[4];

        MaxPool2D.Backward<float>(pool, [1f, 5f, 5f, 2f], [7f], dx);

        Assert.Equal([0f, 7f, 0f, 0f], dx);
    }

    [Fact]
    public void Huge_logits_give_finite_probabilities_and_loss()
    {
        float[] logits = [1000f, 0f, -1000f, 0f, 990f, 1000f];
        float[] labels = [1f, 0f, 0f, 0f, 1f, 0f];
        var probabilities = new float[6];
        var grad = new float[6];

        var (loss, correct, _, _) = Loss.ForwardBackward<float>(LossFunction.CategoricalCrossentropy, 2, 3, logits, labels, probabilities, grad);

        Assert.Equal(1f, probabilities[0]);
        Assert.Equal(1f, probabilities[5], 4);
        Assert.True(float.IsFinite(loss), $"loss {loss}");
        Assert.Equal(10f, loss, 3); // -log p(label): 0 for the first sample, 10 for the second
        Assert.Equal(1f, correct);
        Assert.All(grad, g => Assert.True(float.IsFinite(g)));

        var predicted = new float[6];
        Loss.Predict<float>(LossFunction.CategoricalCrossentropy, 2, 3, logits, predicted);
        Assert.Equal(probabilities, predicted);
    }

    [Fact]
    public void Softmax_alone_gives_the_probabilities_of_the_loss_kernel()
    {
        var logits = Det.Floats(4 * 5, 8, -3, 3);
        var labels = Det.OneHot(4, 5);
        var withLoss = new float[20];
        Loss.ForwardBackward<float>(LossFunction.CategoricalCrossentropy, 4, 5, logits, labels, withLoss, []);

        var alone = Garbage(20);
        Loss.Predict<float>(LossFunction.CategoricalCrossentropy, 4, 5, logits, alone);

        Assert.Equal(withLoss, alone);
        for (int b = 0; b < 4; b++)
            Assert.Equal(1f, alone.AsSpan(b * 5, 5).ToArray().Sum(), 5);
    }

    [Fact]
    public void Accuracy_counts_a_sample_when_its_largest_logit_is_its_label_and_ties_go_to_the_first_class()
    {
        float[] logits = [2f, 1f, 0f, /**/ 0f, 3f, 1f, /**/ 1f, 1f, 0f, /**/ 1f, 1f, 0f];
        float[] labels = [1f, 0f, 0f, /**/ 1f, 0f, 0f, /**/ 1f, 0f, 0f, /**/ 0f, 1f, 0f];

        var (_, correct, _, _) = Loss.ForwardBackward<float>(LossFunction.CategoricalCrossentropy, 4, 3, logits, labels, new float[12], []);

        Assert.Equal(2f, correct); // right, wrong, a tie read as class 0 (right), a tie read as class 0 (wrong)
    }

    [Theory]
    [InlineData(0x1_0000_0007UL, 0x2_0000_0003UL, 0xD1DE4549u, 0.4648796319961548f, 0.33964991569519043f, 0.18454813957214355f, 0.01762676239013672f)]
    [InlineData(42UL, 3UL, 0xBD01FDBDu, 0.8149240016937256f, 0.8344748020172119f, 0.4802274703979492f, 0.601436197757721f)]
    [InlineData(ulong.MaxValue, 1UL, 0xD96E1DFBu, 0.16992366313934326f, 0.452214777469635f, 0.5634734630584717f, 0.9957882165908813f)]
    public void The_dropout_hash_gives_the_values_of_its_formula_for_every_bit_of_seed_and_step(ulong seed, ulong step, uint expectedBase,
        float u0, float u1, float u2, float u3)
    {
        // Values computed from the documented formula (murmur3's finaliser over the four 32-bit halves)
        // outside .NET; 64-bit seeds and steps so that their high halves count.
        Assert.Equal(expectedBase, DropoutRandom.Base(seed, step));
        Assert.Equal([u0, u1, u2, u3], Enumerable.Range(0, 4).Select(i => DropoutRandom.Uniform(seed, step, (ulong)i)));
    }

    private static float[] Garbage(int length) => Enumerable.Repeat(float.NaN, length).ToArray();
}

using Prelu.Kernels;
using Prelu.Reference;

namespace Prelu.Backends;

/// <summary>
/// The contract filled by the plain C# reference kernels (<see cref="Prelu.Reference"/>), on managed
/// arrays. It is the yardstick every other backend is tested against, the fallback when neither OpenCL
/// nor the C library is there, and the "managed scalar" baseline in benchmarks.
/// </summary>
public sealed class ManagedBackend : Backend
{
    public override string Name => "managed";

    private sealed class ManagedBuffer(ManagedBackend owner, float[] array, int offset, int length) : DeviceBuffer(owner, length)
    {
        public Span<float> Span => array.AsSpan(offset, Length);

        protected override DeviceBuffer SliceCore(int start, int count) => new ManagedBuffer((ManagedBackend)Owner, array, offset + start, count);

        // The GC frees the array; a disposed buffer only refuses further use.
        protected override void Free()
        {
        }
    }

    private static Span<float> S(DeviceBuffer buffer) => ((ManagedBuffer)buffer).Span;

    // An optional buffer as a span: empty when absent, which the reference kernels read as "none".
    private static Span<float> Opt(DeviceBuffer? buffer) => buffer is null ? default : ((ManagedBuffer)buffer).Span;

    protected override DeviceBuffer AllocateCore(int length) => new ManagedBuffer(this, new float[length], 0, length);

    protected override void UploadCore(ReadOnlySpan<float> source, DeviceBuffer destination) => source.CopyTo(S(destination));

    protected override void DownloadCore(DeviceBuffer source, Span<float> destination) => S(source).CopyTo(destination);

    protected override void FillCore(DeviceBuffer buffer, float value) => S(buffer).Fill(value);

    protected override void CopyCore(DeviceBuffer source, DeviceBuffer destination) => S(source).CopyTo(S(destination));

    protected override void Conv2DForwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = activation.Kind == ActivationKind.Linear ? S(output) : S(preActivation!);
        Conv2D.Forward<float>(shape, S(input), S(kernel), Opt(bias), z);
        ActivationForward(activation, z, Opt(alpha), S(output));
    }

    protected override void Conv2DBackwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var dz = S(outputGrad);
        ActivationBackward(activation, Opt(preActivation), Opt(alpha), dz, Opt(alphaGrad));
        Conv2D.BackwardWeights<float>(shape, S(input), dz, S(kernelGrad), Opt(biasGrad));
        if (inputGrad is not null)
            Conv2D.BackwardInput<float>(shape, S(kernel), dz, S(inputGrad));
    }

    protected override void MaxPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        MaxPool2D.Forward<float>(shape, S(input), S(output));

    protected override void MaxPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad) =>
        MaxPool2D.Backward<float>(shape, S(input), S(outputGrad), S(inputGrad));

    protected override void DenseForwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = activation.Kind == ActivationKind.Linear ? S(output) : S(preActivation!);
        Dense.Forward<float>(shape, S(input), S(kernel), Opt(bias), z);
        ActivationForward(activation, z, Opt(alpha), S(output));
    }

    protected override void DenseBackwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var dz = S(outputGrad);
        ActivationBackward(activation, Opt(preActivation), Opt(alpha), dz, Opt(alphaGrad));
        Dense.BackwardWeights<float>(shape, S(input), dz, S(kernelGrad), Opt(biasGrad));
        if (inputGrad is not null)
            Dense.BackwardInput<float>(shape, S(kernel), dz, S(inputGrad));
    }

    protected override void ActivationForwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y) =>
        ActivationForward(activation, S(x), Opt(alpha), S(y));

    protected override void ActivationBackwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad)
    {
        var grad = S(dx ?? dy);
        if (dx is not null)
            S(dy).CopyTo(grad);
        ActivationBackward(activation, S(x), Opt(alpha), grad, Opt(alphaGrad));
    }

    // z -> y = act(z); for a linear activation z already is y.
    private static void ActivationForward(FusedActivation activation, Span<float> z, Span<float> alpha, Span<float> y)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Linear:
                if (z != y)
                    z.CopyTo(y);
                break;
            case ActivationKind.Relu:
                Relu.Forward<float>(z, y);
                break;
            case ActivationKind.LeakyRelu:
                Relu.LeakyForward(activation.LeakyAlpha, z, y);
                break;
            case ActivationKind.PRelu:
                PRelu.Forward<float>(activation.PRelu!, z, alpha, y);
                break;
        }
    }

    // grad: dL/dy in, dL/dz out (in place).
    private static void ActivationBackward(FusedActivation activation, Span<float> z, Span<float> alpha, Span<float> grad, Span<float> alphaGrad)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Relu:
                Relu.Backward<float>(z, grad, grad);
                break;
            case ActivationKind.LeakyRelu:
                Relu.LeakyBackward(activation.LeakyAlpha, z, grad, grad);
                break;
            case ActivationKind.PRelu:
                PRelu.Backward<float>(activation.PRelu!, z, alpha, grad, grad, alphaGrad);
                break;
        }
    }

    protected override void DropoutForwardCore(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y) =>
        Dropout.Forward<float>(rate, seed, step, S(x), S(mask), S(y));

    protected override void DropoutBackwardCore(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx) =>
        Dropout.Backward<float>(S(mask), S(dy), S(dx));

    protected override void SoftmaxCrossEntropyCore(int batch, int classes, DeviceBuffer logits, DeviceBuffer? labels, DeviceBuffer probabilities,
        DeviceBuffer? logitsGrad, DeviceBuffer? metrics)
    {
        if (labels is null)
        {
            Reference.SoftmaxCrossEntropy.Softmax<float>(batch, classes, S(logits), S(probabilities));
            return;
        }
        var (lossSum, correct) = Reference.SoftmaxCrossEntropy.ForwardBackward<float>(batch, classes, S(logits), S(labels), S(probabilities), Opt(logitsGrad));
        var m = S(metrics!);
        m[MetricSlot.LossSum] += lossSum;
        m[MetricSlot.Correct] += correct;
    }

    protected override void AdamUpdateCore(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v) =>
        ParameterUpdates.Adam<float>(settings, step, S(param), S(grad), S(m), S(v));

    protected override void SgdUpdateCore(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity) =>
        ParameterUpdates.Sgd<float>(settings, S(param), S(grad), Opt(velocity));

    protected override void AddRegularizerCore(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight)
    {
        float penalty = Regularization.AddPenaltyGradient<float>(regularizer, S(param), S(grad));
        S(metrics)[MetricSlot.LossSum] += lossWeight * penalty;
    }

    protected override void ApplyConstraintCore(Constraint constraint, IReadOnlyList<int> dims, DeviceBuffer param) =>
        Regularization.ApplyConstraint<float>(constraint, dims, S(param));
}

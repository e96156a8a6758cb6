using System.Numerics;
using System.Runtime.InteropServices;
using Prelu.Kernels;
using Prelu.Reference;

namespace Prelu.Backends;

/// <summary>
/// The contract filled by the plain C# reference kernels (<see cref="Prelu.Reference"/>), on managed
/// arrays of <typeparamref name="T"/>. In float32 it is <see cref="ManagedBackend"/>; in float64 it is
/// <see cref="ManagedFloat64Backend"/>, which runs a generated model's very code in double precision so
/// that its gradients can be checked by finite differences.
/// </summary>
public abstract class ReferenceBackend<T> : Backend
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private sealed class ReferenceBuffer(ReferenceBackend<T> owner, T[] array, int offset, int length) : DeviceBuffer(owner, length)
    {
        public Span<T> Span => array.AsSpan(offset, Length);

        public Memory<T> Memory => array.AsMemory(offset, Length);

        protected override DeviceBuffer SliceCore(int start, int count) => new ReferenceBuffer((ReferenceBackend<T>)Owner, array, offset + start, count);

        // The GC frees the array; a disposed buffer only refuses further use.
        protected override void Free()
        {
        }
    }

    /// <summary>
    /// The values of a buffer of this backend, in its own precision: no conversion through float32.
    /// Gradient checks perturb parameters and read losses through it.
    /// </summary>
    public Span<T> Values(DeviceBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        if (!ReferenceEquals(buffer.Owner, this))
            throw new ArgumentException($"the buffer belongs to the {buffer.Owner.Name} backend, not to {Name}", nameof(buffer));
        return S(buffer);
    }

    private static Span<T> S(DeviceBuffer buffer) => ((ReferenceBuffer)buffer).Span;

    /// <summary>A buffer's values as memory that a parallel kernel's tasks can hold; empty for an absent buffer.</summary>
    private protected static Memory<T> MemoryOf(DeviceBuffer? buffer) => buffer is null ? default : ((ReferenceBuffer)buffer).Memory;

    // An optional buffer as a span: empty when absent, which the reference kernels read as "none".
    private static Span<T> Opt(DeviceBuffer? buffer) => buffer is null ? default : ((ReferenceBuffer)buffer).Span;

    private static T Of(float value) => T.CreateTruncating(value);

    /// <inheritdoc />
    protected override DeviceBuffer AllocateCore(int length) => new ReferenceBuffer(this, new T[length], 0, length);

    /// <inheritdoc />
    protected override void UploadCore(ReadOnlySpan<float> source, DeviceBuffer destination)
    {
        var target = S(destination);
        if (typeof(T) == typeof(float))
        {
            source.CopyTo(MemoryMarshal.Cast<T, float>(target));
            return;
        }
        for (int i = 0; i < source.Length; i++)
            target[i] = Of(source[i]);
    }

    /// <inheritdoc />
    protected override void DownloadCore(DeviceBuffer source, Span<float> destination)
    {
        var values = S(source);
        if (typeof(T) == typeof(float))
        {
            MemoryMarshal.Cast<T, float>(values).CopyTo(destination);
            return;
        }
        for (int i = 0; i < values.Length; i++)
            destination[i] = float.CreateTruncating(values[i]);
    }

    /// <inheritdoc />
    protected override void FillCore(DeviceBuffer buffer, float value) => S(buffer).Fill(Of(value));

    /// <inheritdoc />
    protected override void CopyCore(DeviceBuffer source, DeviceBuffer destination) => S(source).CopyTo(S(destination));

    /// <inheritdoc />
    protected override void Conv2DForwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = activation.Kind == ActivationKind.Linear ? S(output) : S(preActivation!);
        Conv2D.Forward<T>(shape, S(input), S(kernel), Opt(bias), z);
        ActivationForward(activation, z, Opt(alpha), S(output));
    }

    /// <inheritdoc />
    protected override void Conv2DBackwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var dz = S(outputGrad);
        ActivationBackward(activation, Opt(preActivation), Opt(alpha), dz, Opt(alphaGrad));
        Conv2D.BackwardWeights<T>(shape, S(input), dz, S(kernelGrad), Opt(biasGrad));
        if (inputGrad is not null)
            Conv2D.BackwardInput<T>(shape, S(kernel), dz, S(inputGrad));
    }

    /// <inheritdoc />
    protected override void DepthwiseConv2DForwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = activation.Kind == ActivationKind.Linear ? S(output) : S(preActivation!);
        DepthwiseConv2D.Forward<T>(shape, S(input), S(kernel), Opt(bias), z);
        ActivationForward(activation, z, Opt(alpha), S(output));
    }

    /// <inheritdoc />
    protected override void DepthwiseConv2DBackwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var dz = S(outputGrad);
        ActivationBackward(activation, Opt(preActivation), Opt(alpha), dz, Opt(alphaGrad));
        DepthwiseConv2D.BackwardWeights<T>(shape, S(input), dz, S(kernelGrad), Opt(biasGrad));
        if (inputGrad is not null)
            DepthwiseConv2D.BackwardInput<T>(shape, S(kernel), dz, S(inputGrad));
    }

    /// <inheritdoc />
    protected override void MaxPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        MaxPool2D.Forward<T>(shape, S(input), S(output));

    /// <inheritdoc />
    protected override void MaxPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad) =>
        MaxPool2D.Backward<T>(shape, S(input), S(outputGrad), S(inputGrad));

    /// <inheritdoc />
    protected override void AvgPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        AvgPool2D.Forward<T>(shape, S(input), S(output));

    /// <inheritdoc />
    protected override void AvgPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer outputGrad, DeviceBuffer inputGrad) =>
        AvgPool2D.Backward<T>(shape, S(outputGrad), S(inputGrad));

    /// <inheritdoc />
    protected override void BatchNormForwardCore(in BatchNormShape shape, bool training, float momentum, float epsilon, DeviceBuffer x,
        DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer movingMean, DeviceBuffer movingVariance, DeviceBuffer y) =>
        BatchNormalization.Forward<T>(shape, training, Of(momentum), Of(epsilon), S(x), Opt(gamma), Opt(beta), S(movingMean), S(movingVariance), S(y));

    /// <inheritdoc />
    protected override void BatchNormBackwardCore(in BatchNormShape shape, float epsilon, DeviceBuffer x, DeviceBuffer? gamma, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer? gammaGrad, DeviceBuffer? betaGrad) =>
        BatchNormalization.Backward<T>(shape, Of(epsilon), S(x), Opt(gamma), S(outputGrad), Opt(inputGrad), Opt(gammaGrad), Opt(betaGrad));

    /// <inheritdoc />
    protected override void DenseForwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = activation.Kind == ActivationKind.Linear ? S(output) : S(preActivation!);
        Dense.Forward<T>(shape, S(input), S(kernel), Opt(bias), z);
        ActivationForward(activation, z, Opt(alpha), S(output));
    }

    /// <inheritdoc />
    protected override void DenseBackwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var dz = S(outputGrad);
        ActivationBackward(activation, Opt(preActivation), Opt(alpha), dz, Opt(alphaGrad));
        Dense.BackwardWeights<T>(shape, S(input), dz, S(kernelGrad), Opt(biasGrad));
        if (inputGrad is not null)
            Dense.BackwardInput<T>(shape, S(kernel), dz, S(inputGrad));
    }

    /// <inheritdoc />
    protected override void ActivationForwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y) =>
        ActivationForward(activation, S(x), Opt(alpha), S(y));

    /// <inheritdoc />
    protected override void ActivationBackwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad)
    {
        var grad = S(dx ?? dy);
        if (dx is not null)
            S(dy).CopyTo(grad);
        ActivationBackward(activation, S(x), Opt(alpha), grad, Opt(alphaGrad));
    }

    // z -> y = act(z); for a linear activation z already is y.
    private static void ActivationForward(FusedActivation activation, Span<T> z, Span<T> alpha, Span<T> y)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Linear:
                if (z != y)
                    z.CopyTo(y);
                break;
            case ActivationKind.Relu:
                Relu.Forward<T>(z, y);
                break;
            case ActivationKind.LeakyRelu:
                Relu.LeakyForward(Of(activation.Parameter), z, y);
                break;
            case ActivationKind.PRelu:
                PRelu.Forward<T>(activation.PRelu!, z, alpha, y);
                break;
            default:
                PointwiseActivation.Forward(activation.Kind, Of(activation.Parameter), z, y);
                break;
        }
    }

    // grad: dL/dy in, dL/dz out (in place).
    private static void ActivationBackward(FusedActivation activation, Span<T> z, Span<T> alpha, Span<T> grad, Span<T> alphaGrad)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Relu:
                Relu.Backward<T>(z, grad, grad);
                break;
            case ActivationKind.LeakyRelu:
                Relu.LeakyBackward(Of(activation.Parameter), z, grad, grad);
                break;
            case ActivationKind.PRelu:
                PRelu.Backward<T>(activation.PRelu!, z, alpha, grad, grad, alphaGrad);
                break;
            case ActivationKind.Linear:
                break;
            default:
                PointwiseActivation.Backward(activation.Kind, Of(activation.Parameter), z, grad);
                break;
        }
    }

    /// <inheritdoc />
    protected override void DropoutForwardCore(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y) =>
        Dropout.Forward<T>(rate, seed, step, S(x), S(mask), S(y));

    /// <inheritdoc />
    protected override void DropoutBackwardCore(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx) =>
        Dropout.Backward<T>(S(mask), S(dy), S(dx));

    /// <inheritdoc />
    protected override void MergeForwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        Merge.Start<T>(S(inputs[0]), S(output));
        for (int i = 1; i < inputs.Length; i++)
            Merge.Fold<T>(kind, S(inputs[i]), S(output));
        Merge.Finish<T>(kind, inputs.Length, S(output));
    }

    /// <inheritdoc />
    protected override void MergeBackwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output, DeviceBuffer outputGrad,
        ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputGrads[i] is not { } grad)
                continue;
            Merge.GradientStart<T>(kind, inputs.Length, S(inputs[i]), S(output), S(outputGrad), S(grad));
            if (!Merge.GradientReadsOthers(kind))
                continue;
            for (int j = 0; j < inputs.Length; j++)
            {
                if (j != i)
                    Merge.GradientFold<T>(kind, j < i, S(inputs[j]), S(output), S(grad));
            }
        }
    }

    /// <inheritdoc />
    protected override void ConcatenateForwardCore(in ConcatenateShape shape, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        for (int i = 0; i < inputs.Length; i++)
            Concatenate.Forward<T>(shape.Rows, shape.Widths[i], shape.Offset(i), shape.Width, S(inputs[i]), S(output));
    }

    /// <inheritdoc />
    protected override void ConcatenateBackwardCore(in ConcatenateShape shape, DeviceBuffer outputGrad, ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        for (int i = 0; i < inputGrads.Length; i++)
        {
            if (inputGrads[i] is { } grad)
                Concatenate.Backward<T>(shape.Rows, shape.Widths[i], shape.Offset(i), shape.Width, S(outputGrad), S(grad));
        }
    }

    /// <inheritdoc />
    protected override void AccumulateCore(DeviceBuffer gradient, DeviceBuffer total) => Merge.Accumulate<T>(S(gradient), S(total));

    /// <inheritdoc />
    protected override void LossCore(in LossFunction loss, int batch, int outputs, DeviceBuffer modelOutputs, DeviceBuffer? targets,
        DeviceBuffer predictions, DeviceBuffer? outputsGrad, DeviceBuffer? metrics)
    {
        if (targets is null)
        {
            Reference.Loss.Predict<T>(loss, batch, outputs, S(modelOutputs), S(predictions));
            return;
        }
        var totals = Reference.Loss.ForwardBackward<T>(loss, batch, outputs, S(modelOutputs), S(targets), S(predictions), Opt(outputsGrad));
        var m = S(metrics!);
        m[MetricSlot.LossSum] += totals.LossSum;
        m[MetricSlot.Correct] += totals.Correct;
        m[MetricSlot.AbsoluteError] += totals.AbsoluteError;
        m[MetricSlot.SquaredError] += totals.SquaredError;
    }

    /// <inheritdoc />
    protected override void AdamUpdateCore(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v) =>
        ParameterUpdates.Adam<T>(settings, step, S(param), S(grad), S(m), S(v));

    /// <inheritdoc />
    protected override void SgdUpdateCore(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity) =>
        ParameterUpdates.Sgd<T>(settings, S(param), S(grad), Opt(velocity));

    /// <inheritdoc />
    protected override void AddRegularizerCore(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight)
    {
        T penalty = Regularization.AddPenaltyGradient<T>(regularizer, S(param), S(grad));
        S(metrics)[MetricSlot.LossSum] += Of(lossWeight) * penalty;
    }

    /// <inheritdoc />
    protected override void ApplyConstraintCore(Constraint constraint, IReadOnlyList<int> dims, DeviceBuffer param) =>
        Regularization.ApplyConstraint<T>(constraint, dims, S(param));
}

using Prelu.Kernels;
using Prelu.Simd;

namespace Prelu.Backends;

/// <summary>
/// The managed baseline a good .NET developer would write without native code: the reference's buffers
/// and semantics, with the heavy operations as packed, register-blocked GEMMs over
/// <see cref="System.Runtime.Intrinsics.Vector512"/> (or Vector256, Vector128: whatever the CPU accelerates),
/// element-wise work through <see cref="System.Numerics.Tensors.TensorPrimitives"/> and
/// <see cref="System.Numerics.Vector{T}"/>, and the batch split across threads with <see cref="Parallel"/>.
/// Sums across threads are kept per range and added in order: the same bits on every run with the same
/// thread count. Constraints (applied to small tensors once per step) run the reference's code.
/// </summary>
public sealed class SimdBackend : ReferenceBackend<float>
{
    private readonly SimdSettings _settings;

    /// <param name="threads">Threads for one operation; 0 (the default) is one per core.</param>
    /// <param name="vectorBits">The GEMMs' vector width: 0 (the default) for the widest the CPU accelerates, or 512, 256, 128 (no wider than that).</param>
    public SimdBackend(int threads = 0, int vectorBits = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        if (vectorBits is not (0 or 128 or 256 or 512) || vectorBits > Gemm.WidestVectorBits)
        {
            throw new ArgumentOutOfRangeException(nameof(vectorBits), vectorBits,
                $"the SIMD backend's vector width is 0 (the widest), 128, 256 or 512 bits, and this CPU accelerates at most {Gemm.WidestVectorBits}");
        }
        _settings = new SimdSettings(threads == 0 ? Environment.ProcessorCount : threads, vectorBits == 0 ? Gemm.WidestVectorBits : vectorBits);
    }

    /// <inheritdoc />
    public override string Name => "simd";

    /// <summary>Threads one operation is split over.</summary>
    public int Threads => _settings.Threads;

    /// <summary>The vector width of the GEMMs' micro-kernel, in bits.</summary>
    public int VectorBits => _settings.VectorBits;

    /// <inheritdoc />
    protected override void BatchNormForwardCore(in BatchNormShape shape, bool training, float momentum, float epsilon, DeviceBuffer x,
        DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer movingMean, DeviceBuffer movingVariance, DeviceBuffer y) =>
        Simd.BatchNormalization.Forward(shape, training, momentum, epsilon, MemoryOf(x), MemoryOf(gamma), MemoryOf(beta),
            MemoryOf(movingMean), MemoryOf(movingVariance), MemoryOf(y), Threads);

    /// <inheritdoc />
    protected override void BatchNormBackwardCore(in BatchNormShape shape, float epsilon, DeviceBuffer x, DeviceBuffer? gamma, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer? gammaGrad, DeviceBuffer? betaGrad) =>
        Simd.BatchNormalization.Backward(shape, epsilon, MemoryOf(x), MemoryOf(gamma), MemoryOf(outputGrad), MemoryOf(inputGrad),
            MemoryOf(gammaGrad), MemoryOf(betaGrad), Threads);

    /// <inheritdoc />
    protected override void Conv2DForwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = MemoryOf(activation.Kind == ActivationKind.Linear ? output : preActivation);
        Simd.Conv2D.Forward(shape, MemoryOf(input), MemoryOf(kernel), MemoryOf(bias), z, _settings);
        Activations.Forward(activation, z, MemoryOf(alpha), MemoryOf(output), Threads);
    }

    /// <inheritdoc />
    protected override void Conv2DBackwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var dz = MemoryOf(outputGrad);
        Activations.Backward(activation, MemoryOf(preActivation), MemoryOf(alpha), dz, MemoryOf(alphaGrad), Threads);
        Simd.Conv2D.BackwardWeights(shape, MemoryOf(input), dz, MemoryOf(kernelGrad), MemoryOf(biasGrad), _settings);
        if (inputGrad is not null)
            Simd.Conv2D.BackwardInput(shape, MemoryOf(kernel), dz, MemoryOf(inputGrad), _settings);
    }

    /// <inheritdoc />
    protected override void AvgPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        Simd.AvgPool2D.Forward(shape, MemoryOf(input), MemoryOf(output), Threads);

    /// <inheritdoc />
    protected override void AvgPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer outputGrad, DeviceBuffer inputGrad) =>
        Simd.AvgPool2D.Backward(shape, MemoryOf(outputGrad), MemoryOf(inputGrad), Threads);

    /// <inheritdoc />
    protected override void MaxPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        Simd.MaxPool2D.Forward(shape, MemoryOf(input), MemoryOf(output), Threads);

    /// <inheritdoc />
    protected override void MaxPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad) =>
        Simd.MaxPool2D.Backward(shape, MemoryOf(input), MemoryOf(outputGrad), MemoryOf(inputGrad), Threads);

    /// <inheritdoc />
    protected override void DenseForwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = MemoryOf(activation.Kind == ActivationKind.Linear ? output : preActivation);
        Simd.Dense.Forward(shape, MemoryOf(input), MemoryOf(kernel), MemoryOf(bias), z, _settings);
        Activations.Forward(activation, z, MemoryOf(alpha), MemoryOf(output), Threads);
    }

    /// <inheritdoc />
    protected override void DenseBackwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var dz = MemoryOf(outputGrad);
        Activations.Backward(activation, MemoryOf(preActivation), MemoryOf(alpha), dz, MemoryOf(alphaGrad), Threads);
        Simd.Dense.BackwardWeights(shape, MemoryOf(input), dz, MemoryOf(kernelGrad), MemoryOf(biasGrad), _settings);
        if (inputGrad is not null)
            Simd.Dense.BackwardInput(shape, MemoryOf(kernel), dz, MemoryOf(inputGrad), _settings);
    }

    /// <inheritdoc />
    protected override void ActivationForwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y) =>
        Activations.Forward(activation, MemoryOf(x), MemoryOf(alpha), MemoryOf(y), Threads);

    /// <inheritdoc />
    protected override void ActivationBackwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad)
    {
        var grad = MemoryOf(dx ?? dy);
        if (dx is not null)
            MemoryOf(dy).Span.CopyTo(grad.Span);
        Activations.Backward(activation, MemoryOf(x), MemoryOf(alpha), grad, MemoryOf(alphaGrad), Threads);
    }

    /// <inheritdoc />
    protected override void DropoutForwardCore(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y) =>
        Simd.Dropout.Forward(rate, seed, step, MemoryOf(x).Span, MemoryOf(mask).Span, MemoryOf(y).Span);

    /// <inheritdoc />
    protected override void DropoutBackwardCore(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx) =>
        System.Numerics.Tensors.TensorPrimitives.Multiply(MemoryOf(dy).Span, MemoryOf(mask).Span, MemoryOf(dx).Span);

    /// <inheritdoc />
    protected override void LossCore(in LossFunction loss, int batch, int outputs, DeviceBuffer modelOutputs, DeviceBuffer? targets,
        DeviceBuffer predictions, DeviceBuffer? outputsGrad, DeviceBuffer? metrics)
    {
        if (targets is null)
        {
            Simd.Loss.Predict(loss, batch, outputs, MemoryOf(modelOutputs).Span, MemoryOf(predictions).Span);
            return;
        }
        var totals = Simd.Loss.ForwardBackward(loss, batch, outputs, MemoryOf(modelOutputs).Span, MemoryOf(targets).Span,
            MemoryOf(predictions).Span, MemoryOf(outputsGrad).Span);
        var m = MemoryOf(metrics).Span;
        m[MetricSlot.LossSum] += totals.LossSum;
        m[MetricSlot.Correct] += totals.Correct;
        m[MetricSlot.AbsoluteError] += totals.AbsoluteError;
        m[MetricSlot.SquaredError] += totals.SquaredError;
    }

    /// <inheritdoc />
    protected override void AdamUpdateCore(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v) =>
        ParameterUpdates.Adam(settings, step, MemoryOf(param), MemoryOf(grad), MemoryOf(m), MemoryOf(v), Threads);

    /// <inheritdoc />
    protected override void SgdUpdateCore(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity) =>
        ParameterUpdates.Sgd(settings, MemoryOf(param), MemoryOf(grad), MemoryOf(velocity), Threads);

    /// <inheritdoc />
    protected override void AddRegularizerCore(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight)
    {
        float penalty = ParameterUpdates.AddPenaltyGradient(regularizer, MemoryOf(param).Span, MemoryOf(grad).Span);
        MemoryOf(metrics).Span[MetricSlot.LossSum] += lossWeight * penalty;
    }
}

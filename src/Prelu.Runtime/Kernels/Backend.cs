namespace Prelu.Kernels;

/// <summary>Slots of the metrics buffer that loss kernels add into, read back once per epoch.</summary>
public static class MetricSlot
{
    /// <summary>Sum over samples of each sample's loss (plus weighted penalties).</summary>
    public const int LossSum = 0;

    /// <summary>Keras's accuracy summed over samples: hits for the categorical losses, the share of outputs right for binary cross-entropy.</summary>
    public const int Correct = 1;

    /// <summary>Sum over samples of each sample's mean |prediction - target| (Keras's "mae" metric, times the samples).</summary>
    public const int AbsoluteError = 2;

    /// <summary>Sum over samples of each sample's mean (prediction - target)^2 (Keras's "mse"; its root, "rmse").</summary>
    public const int SquaredError = 3;

    /// <summary>The length of a metrics buffer.</summary>
    public const int Count = 4;
}

/// <summary>
/// The kernel contract: every operation the generated code calls, forward and backward, with explicit
/// shapes. Backends (managed, native C, OpenCL) fill the protected <c>...Core</c> methods; the public
/// methods check every buffer against its shape first, so that each backend refuses a wrong call with
/// the same clear message instead of reading past an end.
/// </summary>
/// <remarks>
/// Conventions. Tensors are float32, row-major, NHWC; Keras's layouts for weights (Conv2D kernel
/// (KH, KW, Cin, Cout), Dense kernel (In, Out)). Backward methods overwrite their gradients. A fused
/// layer (convolution or dense, then bias, then an activation) keeps its pre-activation z for backward,
/// and its backward turns <c>outputGrad</c> into dL/dz in place. A null input gradient means "not
/// needed" (the first layer).
/// </remarks>
public abstract class Backend : IDisposable
{
    /// <summary>"managed", "native", "opencl (device name)", ...</summary>
    public abstract string Name { get; }

    // ---- Buffers ---------------------------------------------------------------------------------

    /// <summary>A zeroed buffer of <paramref name="length"/> floats.</summary>
    public DeviceBuffer Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return AllocateCore(length);
    }

    /// <summary>A new buffer holding <paramref name="values"/>.</summary>
    public DeviceBuffer Allocate(ReadOnlySpan<float> values)
    {
        var buffer = AllocateCore(values.Length);
        UploadCore(values, buffer);
        return buffer;
    }

    /// <summary>Copies host values into a buffer of the same length.</summary>
    public void Upload(ReadOnlySpan<float> source, DeviceBuffer destination)
    {
        Own(destination, nameof(destination));
        Same("upload", source.Length, destination);
        UploadCore(source, destination);
    }

    /// <summary>Copies a buffer into host memory of the same length (waits for the work queued before it).</summary>
    public void Download(DeviceBuffer source, Span<float> destination)
    {
        Own(source, nameof(source));
        Same("download", destination.Length, source);
        DownloadCore(source, destination);
    }

    /// <summary>Downloads a whole buffer into a new array (tests, checkpoints; not for hot paths).</summary>
    public float[] ToArray(DeviceBuffer source)
    {
        var values = new float[source.Length];
        Download(source, values);
        return values;
    }

    /// <summary>Sets every element of <paramref name="buffer"/> to <paramref name="value"/>.</summary>
    public void Fill(DeviceBuffer buffer, float value)
    {
        Own(buffer, nameof(buffer));
        FillCore(buffer, value);
    }

    /// <summary>Copies one buffer of this backend into another of the same length.</summary>
    public void Copy(DeviceBuffer source, DeviceBuffer destination)
    {
        Own(source, nameof(source));
        Own(destination, nameof(destination));
        Same("copy", source.Length, destination);
        CopyCore(source, destination);
    }

    /// <summary>A zeroed buffer of <paramref name="length"/> floats, on this backend.</summary>
    protected abstract DeviceBuffer AllocateCore(int length);
    /// <summary>The work of <see cref="Upload"/>, its buffers already checked against the shape.</summary>
    protected abstract void UploadCore(ReadOnlySpan<float> source, DeviceBuffer destination);
    /// <summary>The work of <see cref="Download"/>, its buffers already checked against the shape.</summary>
    protected abstract void DownloadCore(DeviceBuffer source, Span<float> destination);
    /// <summary>The work of <see cref="Fill"/>, its buffers already checked against the shape.</summary>
    protected abstract void FillCore(DeviceBuffer buffer, float value);
    /// <summary>The work of <see cref="Copy"/>, its buffers already checked against the shape.</summary>
    protected abstract void CopyCore(DeviceBuffer source, DeviceBuffer destination);

    // ---- Conv2D (+ bias + activation) --------------------------------------------------------------

    /// <summary>
    /// Convolution, bias and activation, forward: input (N, H, W, Cin), kernel (KH, KW, Cin, F), bias (F)?, alpha
    /// (PReLU)?, -> preActivation z (N, OH, OW, F) (unless linear), output (N, OH, OW, F) = act(conv(input) + bias)
    /// </summary>
    public void Conv2DForward(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        CheckConv2DForward("Conv2D forward", shape, activation, input, kernel, bias, alpha, preActivation, output);
        Conv2DForwardCore(shape, activation, input, kernel, bias, alpha, preActivation, output);
    }

    private void CheckConv2DForward(string op, in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        Lengths(op, (input, nameof(input), shape.InputLength), (kernel, nameof(kernel), shape.KernelLength), (output, nameof(output), shape.OutputLength));
        Optional(op, bias, nameof(bias), shape.BiasLength);
        Epilogue(op, activation, shape.Batch, shape.OutputLength / shape.Batch, alpha, preActivation, shape.OutputLength);
    }

    /// <summary>
    /// Convolution, bias and activation, backward: input, kernel, alpha?, z?, outputGrad (N, OH, OW, F; becomes
    /// dL/dz) -> inputGrad (N, H, W, Cin)?, kernelGrad (KH, KW, Cin, F), biasGrad (F)?, alphaGrad?
    /// </summary>
    public void Conv2DBackward(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        CheckConv2DBackward("Conv2D backward", shape, activation, input, kernel, alpha, preActivation, outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad);
        Conv2DBackwardCore(shape, activation, input, kernel, alpha, preActivation, outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad);
    }

    private void CheckConv2DBackward(string op, in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        Lengths(op, (input, nameof(input), shape.InputLength), (kernel, nameof(kernel), shape.KernelLength),
            (outputGrad, nameof(outputGrad), shape.OutputLength), (kernelGrad, nameof(kernelGrad), shape.KernelLength));
        Optional(op, inputGrad, nameof(inputGrad), shape.InputLength);
        Optional(op, biasGrad, nameof(biasGrad), shape.BiasLength);
        Epilogue(op, activation, shape.Batch, shape.OutputLength / shape.Batch, alpha, preActivation, shape.OutputLength);
        AlphaGrad(op, activation, alphaGrad);
    }

    /// <summary>The work of <see cref="Conv2DForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void Conv2DForwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output);

    /// <summary>The work of <see cref="Conv2DBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void Conv2DBackwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad);

    // ---- DepthwiseConv2D (+ bias + activation) -------------------------------------------------------

    /// <summary>
    /// Depthwise convolution, bias and activation, forward: input (N, H, W, C), kernel (KH, KW, C, M), bias (C M)?,
    /// alpha (PReLU)? -> preActivation z (N, OH, OW, C M) (unless linear), output (N, OH, OW, C M) =
    /// act(depthwise(input) + bias)
    /// </summary>
    public void DepthwiseConv2DForward(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        const string op = "DepthwiseConv2D forward";
        Lengths(op, (input, nameof(input), shape.InputLength), (kernel, nameof(kernel), shape.KernelLength), (output, nameof(output), shape.OutputLength));
        Optional(op, bias, nameof(bias), shape.BiasLength);
        Epilogue(op, activation, shape.Batch, shape.OutputLength / shape.Batch, alpha, preActivation, shape.OutputLength);
        DepthwiseConv2DForwardCore(shape, activation, input, kernel, bias, alpha, preActivation, output);
    }

    /// <summary>
    /// Depthwise convolution, bias and activation, backward: input, kernel, alpha?, z?, outputGrad (N, OH, OW, C M;
    /// becomes dL/dz) -> inputGrad (N, H, W, C)?, kernelGrad (KH, KW, C, M), biasGrad (C M)?, alphaGrad?
    /// </summary>
    public void DepthwiseConv2DBackward(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        const string op = "DepthwiseConv2D backward";
        Lengths(op, (input, nameof(input), shape.InputLength), (kernel, nameof(kernel), shape.KernelLength),
            (outputGrad, nameof(outputGrad), shape.OutputLength), (kernelGrad, nameof(kernelGrad), shape.KernelLength));
        Optional(op, inputGrad, nameof(inputGrad), shape.InputLength);
        Optional(op, biasGrad, nameof(biasGrad), shape.BiasLength);
        Epilogue(op, activation, shape.Batch, shape.OutputLength / shape.Batch, alpha, preActivation, shape.OutputLength);
        AlphaGrad(op, activation, alphaGrad);
        DepthwiseConv2DBackwardCore(shape, activation, input, kernel, alpha, preActivation, outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad);
    }

    /// <summary>The work of <see cref="DepthwiseConv2DForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void DepthwiseConv2DForwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output);

    /// <summary>The work of <see cref="DepthwiseConv2DBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void DepthwiseConv2DBackwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad);

    // ---- Conv2D (+ bias + activation) and the MaxPooling2D after it, in one call --------------------------

    /// <summary>
    /// The convolution as <see cref="Conv2DForward"/> computes it, then the max pooling of its output into pooled
    /// (N, PH, PW, F), the call's only result; with a <paramref name="dropout"/> after it, the dropout's mask and output
    /// are the results and pooled is workspace. preActivation and output are the call's workspace for
    /// <see cref="Conv2DPoolBackward"/>: the default (the two calls) leaves z and the convolution's output there; a backend
    /// may keep less (the C library keeps, where the pooling's windows do not overlap, only z at each window's winner
    /// and the winner's place, and never computes the outputs no window covers).
    /// </summary>
    public void Conv2DPoolForward(in Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooled, DropoutAfter? dropout = null)
    {
        const string op = "Conv2D + MaxPooling2D forward";
        CheckConv2DForward(op, conv, activation, input, kernel, bias, alpha, preActivation, output);
        PoolsTheConvolution(op, conv, pool);
        Lengths(op, (pooled, nameof(pooled), pool.OutputLength));
        if (dropout is { } d)
        {
            DropoutRate(op, d.Rate, nameof(dropout));
            Lengths(op, (d.Mask, "dropout.Mask", pool.OutputLength), (d.Output, "dropout.Output", pool.OutputLength));
        }
        Conv2DPoolForwardCore(conv, activation, pool, input, kernel, bias, alpha, preActivation, output, pooled, dropout);
    }

    /// <summary>
    /// The gradients of <see cref="Conv2DPoolForward"/>, from the workspace it left in preActivation and output:
    /// pooledGrad (N, PH, PW, F) back to inputGrad, kernelGrad, biasGrad and alphaGrad as <see cref="Conv2DBackward"/>
    /// computes them; outputGrad (N, OH, OW, F) is workspace too. With the forward's <paramref name="dropoutMask"/>,
    /// pooledGrad is the gradient of the dropout's output, taken back through the mask first (as
    /// <see cref="DropoutBackward"/>), and is workspace as well. The default goes back through the pooling into
    /// outputGrad, which becomes dL/dz, then calls <see cref="Conv2DBackward"/>; the C library gives each window's winner
    /// its share directly (only winners have a gradient). inputGrad may share memory with pooledGrad (the generated code
    /// gives both the gradient buffer that is free): a backend reads all of pooledGrad before it writes inputGrad.
    /// </summary>
    public void Conv2DPoolBackward(in Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooledGrad, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad, DeviceBuffer? dropoutMask = null)
    {
        const string op = "Conv2D + MaxPooling2D backward";
        CheckConv2DBackward(op, conv, activation, input, kernel, alpha, preActivation, outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad);
        PoolsTheConvolution(op, conv, pool);
        Lengths(op, (output, nameof(output), conv.OutputLength), (pooledGrad, nameof(pooledGrad), pool.OutputLength));
        Optional(op, dropoutMask, nameof(dropoutMask), pool.OutputLength);
        Conv2DPoolBackwardCore(conv, activation, pool, input, kernel, alpha, preActivation, output, pooledGrad, outputGrad, inputGrad, kernelGrad,
            biasGrad, alphaGrad, dropoutMask);
    }

    /// <summary>The work of <see cref="Conv2DPoolForward"/>, its buffers already checked against the shape.</summary>
    protected virtual void Conv2DPoolForwardCore(in Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooled,
        DropoutAfter? dropout)
    {
        Conv2DForwardCore(conv, activation, input, kernel, bias, alpha, preActivation, output);
        MaxPool2DForwardCore(pool, output, pooled);
        if (dropout is { } d)
            DropoutForwardCore(d.Rate, d.Seed, d.Step, pooled, d.Mask, d.Output);
    }

    /// <summary>The work of <see cref="Conv2DPoolBackward"/>, its buffers already checked against the shape.</summary>
    protected virtual void Conv2DPoolBackwardCore(in Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooledGrad, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad, DeviceBuffer? dropoutMask)
    {
        if (dropoutMask is not null)
            DropoutBackwardCore(dropoutMask, pooledGrad, pooledGrad);
        MaxPool2DBackwardCore(pool, output, pooledGrad, outputGrad);
        Conv2DBackwardCore(conv, activation, input, kernel, alpha, preActivation, outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad);
    }

    // ---- Conv2D + BatchNormalization + activation, one call ------------------------------------------------------

    /// <summary>
    /// A convolution, the batch normalization of its output and an activation, forward, as one call: convOutput (N, OH,
    /// OW, F) = conv(input) + bias, then preActivation = the normalization of convOutput over (N OH OW, F) (in training
    /// the batch's statistics, which move the moving ones; in evaluation the moving statistics), then output =
    /// act(preActivation). A linear activation writes the normalization into output and takes no preActivation.
    /// convOutput and preActivation are the call's workspace for <see cref="Conv2DBatchNormBackward"/>; in evaluation a
    /// backend may leave convOutput as it was. The default runs <see cref="Conv2DForward"/>, <see cref="BatchNormForward"/>
    /// and <see cref="ActivationForward"/> in turn; the C library normalizes and activates in one pass over the
    /// convolution's output in training, keeping in preActivation only the normalization's terms (its backward normalizes
    /// convOutput again), and in evaluation folds the normalization into the convolution's kernel and bias (one
    /// convolution, the activation its epilogue).
    /// </summary>
    public void Conv2DBatchNormForward(in Conv2DShape conv, in BatchNormAfter norm, bool training, FusedActivation activation, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer convOutput, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        const string op = "Conv2D + BatchNormalization forward";
        CheckConv2DForward(op, conv, activation, input, kernel, bias, alpha, preActivation, output);
        Lengths(op, (convOutput, nameof(convOutput), conv.OutputLength));
        CheckBatchNormAfter(op, conv, norm, forward: true);
        Conv2DBatchNormForwardCore(conv, norm, training, activation, input, kernel, bias, alpha, convOutput, preActivation, output);
    }

    /// <summary>
    /// The gradients of a training <see cref="Conv2DBatchNormForward"/>, from the convOutput and preActivation it left:
    /// outputGrad (N, OH, OW, F) back to inputGrad?, kernelGrad, biasGrad?, gammaGrad?, betaGrad? and alphaGrad?, each
    /// overwritten. outputGrad and normalizedGrad (the size of the convolution's output) are workspace: the default takes
    /// the activation's gradient into normalizedGrad, the normalization's into outputGrad and the convolution's from there;
    /// the C library works in outputGrad alone.
    /// </summary>
    public void Conv2DBatchNormBackward(in Conv2DShape conv, in BatchNormAfter norm, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer convOutput, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer normalizedGrad,
        DeviceBuffer? inputGrad, DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? gammaGrad, DeviceBuffer? betaGrad, DeviceBuffer? alphaGrad)
    {
        const string op = "Conv2D + BatchNormalization backward";
        CheckConv2DBackward(op, conv, activation, input, kernel, alpha, preActivation, outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad);
        Lengths(op, (convOutput, nameof(convOutput), conv.OutputLength), (normalizedGrad, nameof(normalizedGrad), conv.OutputLength));
        CheckBatchNormAfter(op, conv, norm, forward: false);
        Optional(op, gammaGrad, nameof(gammaGrad), conv.Filters);
        Optional(op, betaGrad, nameof(betaGrad), conv.Filters);
        Conv2DBatchNormBackwardCore(conv, norm, activation, input, kernel, alpha, convOutput, preActivation, outputGrad, normalizedGrad, inputGrad,
            kernelGrad, biasGrad, gammaGrad, betaGrad, alphaGrad);
    }

    /// <summary>The normalization a <see cref="Conv2DBatchNormForward"/> runs: over the convolution's output, one channel per filter.</summary>
    protected static BatchNormShape NormalizationOf(in Conv2DShape conv) => new(conv.Batch, conv.OutHeight * conv.OutWidth, conv.Filters);

    /// <summary>The work of <see cref="Conv2DBatchNormForward"/>, its buffers already checked against the shapes.</summary>
    protected virtual void Conv2DBatchNormForwardCore(in Conv2DShape conv, in BatchNormAfter norm, bool training, FusedActivation activation,
        DeviceBuffer input, DeviceBuffer kernel, DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer convOutput, DeviceBuffer? preActivation,
        DeviceBuffer output)
    {
        bool linear = activation.Kind == ActivationKind.Linear;
        Conv2DForwardCore(conv, FusedActivation.Linear, input, kernel, bias, null, null, convOutput);
        BatchNormForwardCore(NormalizationOf(conv), training, norm.Momentum, norm.Epsilon, convOutput, norm.Gamma, norm.Beta, norm.MovingMean,
            norm.MovingVariance, linear ? output : preActivation!);
        if (!linear)
            ActivationForwardCore(activation, preActivation!, alpha, output);
    }

    /// <summary>The work of <see cref="Conv2DBatchNormBackward"/>, its buffers already checked against the shapes.</summary>
    protected virtual void Conv2DBatchNormBackwardCore(in Conv2DShape conv, in BatchNormAfter norm, FusedActivation activation, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? alpha, DeviceBuffer convOutput, DeviceBuffer? preActivation, DeviceBuffer outputGrad,
        DeviceBuffer normalizedGrad, DeviceBuffer? inputGrad, DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? gammaGrad,
        DeviceBuffer? betaGrad, DeviceBuffer? alphaGrad)
    {
        // The activation's gradient into normalizedGrad, the normalization's back into outputGrad; a linear call skips the first.
        var (normalizationGrad, convolutionGrad) = (outputGrad, normalizedGrad);
        if (activation.Kind != ActivationKind.Linear)
        {
            ActivationBackwardCore(activation, preActivation!, alpha, outputGrad, normalizedGrad, alphaGrad);
            (normalizationGrad, convolutionGrad) = (normalizedGrad, outputGrad);
        }
        BatchNormBackwardCore(NormalizationOf(conv), norm.Epsilon, convOutput, norm.Gamma, normalizationGrad, convolutionGrad, gammaGrad, betaGrad);
        Conv2DBackwardCore(conv, FusedActivation.Linear, input, kernel, null, null, convolutionGrad, inputGrad, kernelGrad, biasGrad, null);
    }

    private void CheckBatchNormAfter(string op, in Conv2DShape conv, in BatchNormAfter norm, bool forward)
    {
        Optional(op, norm.Gamma, "norm.Gamma", conv.Filters);
        if (forward)
        {
            Optional(op, norm.Beta, "norm.Beta", conv.Filters);
            Lengths(op, (norm.MovingMean, "norm.MovingMean", conv.Filters), (norm.MovingVariance, "norm.MovingVariance", conv.Filters));
            MomentumInRange(op, norm.Momentum, nameof(norm));
        }
        PositiveEpsilon(op, norm.Epsilon);
    }

    private static void PoolsTheConvolution(string op, in Conv2DShape conv, in Pool2DShape pool)
    {
        if (pool.Batch != conv.Batch || pool.Height != conv.OutHeight || pool.Width != conv.OutWidth || pool.Channels != conv.Filters)
        {
            throw new ArgumentException($"{op}: the pooling's input ({pool.Batch}, {pool.Height}, {pool.Width}, {pool.Channels}) is not the " +
                $"convolution's output ({conv.Batch}, {conv.OutHeight}, {conv.OutWidth}, {conv.Filters})", nameof(pool));
        }
    }

    // ---- MaxPooling2D ----------------------------------------------------------------------------

    /// <summary>
    /// Max pooling, forward: input (N, H, W, C) -> output (N, OH, OW, C)
    /// </summary>
    public void MaxPool2DForward(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output)
    {
        Lengths("MaxPooling2D forward", (input, nameof(input), shape.InputLength), (output, nameof(output), shape.OutputLength));
        MaxPool2DForwardCore(shape, input, output);
    }

    /// <summary>
    /// Max pooling, backward: input (N, H, W, C), outputGrad (N, OH, OW, C) -> inputGrad (N, H, W, C)
    /// </summary>
    public void MaxPool2DBackward(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad)
    {
        Lengths("MaxPooling2D backward", (input, nameof(input), shape.InputLength), (outputGrad, nameof(outputGrad), shape.OutputLength),
            (inputGrad, nameof(inputGrad), shape.InputLength));
        MaxPool2DBackwardCore(shape, input, outputGrad, inputGrad);
    }

    /// <summary>The work of <see cref="MaxPool2DForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void MaxPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output);
    /// <summary>The work of <see cref="MaxPool2DBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void MaxPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad);

    // ---- AveragePooling2D (and GlobalAveragePooling2D: the whole map as one window) ---------------------

    /// <summary>
    /// Average pooling, forward: input (N, H, W, C) -> output (N, OH, OW, C): each window's mean over the positions
    /// inside the input (with 'same' padding the padded positions are not counted, as in Keras)
    /// </summary>
    public void AvgPool2DForward(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output)
    {
        Lengths("AveragePooling2D forward", (input, nameof(input), shape.InputLength), (output, nameof(output), shape.OutputLength));
        AvgPool2DForwardCore(shape, input, output);
    }

    /// <summary>
    /// Average pooling, backward: outputGrad (N, OH, OW, C) -> inputGrad (N, H, W, C): each window's gradient shared
    /// evenly by its positions
    /// </summary>
    public void AvgPool2DBackward(in Pool2DShape shape, DeviceBuffer outputGrad, DeviceBuffer inputGrad)
    {
        Lengths("AveragePooling2D backward", (outputGrad, nameof(outputGrad), shape.OutputLength), (inputGrad, nameof(inputGrad), shape.InputLength));
        AvgPool2DBackwardCore(shape, outputGrad, inputGrad);
    }

    /// <summary>The work of <see cref="AvgPool2DForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void AvgPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output);
    /// <summary>The work of <see cref="AvgPool2DBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void AvgPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer outputGrad, DeviceBuffer inputGrad);

    // ---- BatchNormalization -------------------------------------------------------------------------

    /// <summary>
    /// x (Rows, C) -> y (Rows, C) = gamma (x - mean) / sqrt(variance + epsilon) + beta. Training: the batch's
    /// mean and biased variance per channel, and the moving statistics move towards them as Keras moves
    /// them (moving = moving * momentum + batch * (1 - momentum)); inference: the moving statistics.
    /// gamma (C) absent is 1 (scale=False), beta (C) absent is 0 (center=False).
    /// </summary>
    public void BatchNormForward(in BatchNormShape shape, bool training, float momentum, float epsilon, DeviceBuffer x,
        DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer movingMean, DeviceBuffer movingVariance, DeviceBuffer y)
    {
        const string op = "BatchNormalization forward";
        Lengths(op, (x, nameof(x), shape.Length), (y, nameof(y), shape.Length),
            (movingMean, nameof(movingMean), shape.Channels), (movingVariance, nameof(movingVariance), shape.Channels));
        Optional(op, gamma, nameof(gamma), shape.Channels);
        Optional(op, beta, nameof(beta), shape.Channels);
        MomentumInRange(op, momentum, nameof(momentum));
        PositiveEpsilon(op, epsilon);
        BatchNormForwardCore(shape, training, momentum, epsilon, x, gamma, beta, movingMean, movingVariance, y);
    }

    /// <summary>
    /// The backward of a training forward: x (Rows, C), gamma?, outputGrad (Rows, C) -> inputGrad (Rows, C)?,
    /// gammaGrad (C)?, betaGrad (C)?, overwritten. The batch statistics are computed again from x, exactly as forward did.
    /// </summary>
    public void BatchNormBackward(in BatchNormShape shape, float epsilon, DeviceBuffer x, DeviceBuffer? gamma, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer? gammaGrad, DeviceBuffer? betaGrad)
    {
        const string op = "BatchNormalization backward";
        Lengths(op, (x, nameof(x), shape.Length), (outputGrad, nameof(outputGrad), shape.Length));
        Optional(op, gamma, nameof(gamma), shape.Channels);
        Optional(op, inputGrad, nameof(inputGrad), shape.Length);
        Optional(op, gammaGrad, nameof(gammaGrad), shape.Channels);
        Optional(op, betaGrad, nameof(betaGrad), shape.Channels);
        PositiveEpsilon(op, epsilon);
        BatchNormBackwardCore(shape, epsilon, x, gamma, outputGrad, inputGrad, gammaGrad, betaGrad);
    }

    /// <summary>The work of <see cref="BatchNormForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void BatchNormForwardCore(in BatchNormShape shape, bool training, float momentum, float epsilon, DeviceBuffer x,
        DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer movingMean, DeviceBuffer movingVariance, DeviceBuffer y);

    /// <summary>The work of <see cref="BatchNormBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void BatchNormBackwardCore(in BatchNormShape shape, float epsilon, DeviceBuffer x, DeviceBuffer? gamma, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer? gammaGrad, DeviceBuffer? betaGrad);

    private static void MomentumInRange(string op, float momentum, string name)
    {
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ArgumentOutOfRangeException(name, momentum, $"{op}: momentum must be in [0, 1]");
    }

    private static void PositiveEpsilon(string op, float epsilon)
    {
        if (!(epsilon > 0f) || float.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"{op}: epsilon must be a positive number");
    }

    // ---- Dense (+ bias + activation) -------------------------------------------------------------

    /// <summary>
    /// Dense layer, bias and activation, forward: input (B, I), kernel (I, U), bias (U)?, alpha? -> z (B, U) (unless
    /// linear), output (B, U)
    /// </summary>
    public void DenseForward(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        const string op = "Dense forward";
        Lengths(op, (input, nameof(input), shape.InputLength), (kernel, nameof(kernel), shape.KernelLength), (output, nameof(output), shape.OutputLength));
        Optional(op, bias, nameof(bias), shape.BiasLength);
        Epilogue(op, activation, shape.Batch, shape.Units, alpha, preActivation, shape.OutputLength);
        DenseForwardCore(shape, activation, input, kernel, bias, alpha, preActivation, output);
    }

    /// <summary>
    /// Dense layer, bias and activation, backward: input, kernel, alpha?, z?, outputGrad (B, U; becomes dL/dz) ->
    /// inputGrad (B, I)?, kernelGrad (I, U), biasGrad (U)?, alphaGrad?
    /// </summary>
    public void DenseBackward(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        const string op = "Dense backward";
        Lengths(op, (input, nameof(input), shape.InputLength), (kernel, nameof(kernel), shape.KernelLength),
            (outputGrad, nameof(outputGrad), shape.OutputLength), (kernelGrad, nameof(kernelGrad), shape.KernelLength));
        Optional(op, inputGrad, nameof(inputGrad), shape.InputLength);
        Optional(op, biasGrad, nameof(biasGrad), shape.BiasLength);
        Epilogue(op, activation, shape.Batch, shape.Units, alpha, preActivation, shape.OutputLength);
        AlphaGrad(op, activation, alphaGrad);
        DenseBackwardCore(shape, activation, input, kernel, alpha, preActivation, outputGrad, inputGrad, kernelGrad, biasGrad, alphaGrad);
    }

    /// <summary>The work of <see cref="DenseForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void DenseForwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output);

    /// <summary>The work of <see cref="DenseBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void DenseBackwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad);

    // ---- Activations as layers of their own ---------------------------------------------------------

    /// <summary>
    /// An activation on its own, forward: x (L) -> y (L)
    /// </summary>
    public void ActivationForward(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y)
    {
        const string op = "activation forward";
        Own(x, nameof(x));
        Lengths(op, (y, nameof(y), x.Length));
        if (activation.Kind == ActivationKind.PRelu)
        {
            var shape = activation.PRelu ?? throw new ArgumentException($"{op}: PReLU needs its PReluShape");
            Lengths(op, (x, nameof(x), shape.Length));
            Optional(op, alpha, nameof(alpha), shape.AlphaLength, required: true);
        }
        ActivationForwardCore(activation, x, alpha, y);
    }

    /// <summary>
    /// An activation on its own, backward: x (L), alpha?, dy (L) -> dx (L) (may be dy; null when only alphaGrad is
    /// wanted, and dy may then be overwritten), alphaGrad?
    /// </summary>
    public void ActivationBackward(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad)
    {
        const string op = "activation backward";
        Own(x, nameof(x));
        Lengths(op, (dy, nameof(dy), x.Length));
        Optional(op, dx, nameof(dx), x.Length);
        if (activation.Kind == ActivationKind.PRelu)
        {
            var shape = activation.PRelu ?? throw new ArgumentException($"{op}: PReLU needs its PReluShape");
            Lengths(op, (x, nameof(x), shape.Length));
            Optional(op, alpha, nameof(alpha), shape.AlphaLength, required: true);
        }
        AlphaGrad(op, activation, alphaGrad);
        ActivationBackwardCore(activation, x, alpha, dy, dx, alphaGrad);
    }

    /// <summary>The work of <see cref="ActivationForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void ActivationForwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y);
    /// <summary>The work of <see cref="ActivationBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void ActivationBackwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad);

    // ---- Dropout -------------------------------------------------------------------------------------

    /// <summary>
    /// Dropout in training (Keras's inverted dropout: kept values scaled by 1 / (1 - rate)): x (L) -> mask (L), y
    /// (L); the mask for (seed, step) is the same on every backend
    /// </summary>
    public void DropoutForward(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y)
    {
        DropoutRate("Dropout", rate, nameof(rate));
        Own(x, nameof(x));
        Lengths("Dropout forward", (mask, nameof(mask), x.Length), (y, nameof(y), x.Length));
        DropoutForwardCore(rate, seed, step, x, mask, y);
    }

    /// <summary>
    /// Dropout, backward: mask (L), dy (L) -> dx (L) (may be dy)
    /// </summary>
    public void DropoutBackward(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx)
    {
        Own(mask, nameof(mask));
        Lengths("Dropout backward", (dy, nameof(dy), mask.Length), (dx, nameof(dx), mask.Length));
        DropoutBackwardCore(mask, dy, dx);
    }

    private static void DropoutRate(string op, float rate, string parameter)
    {
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(parameter, rate, $"{op}: rate must be in [0, 1)");
    }

    /// <summary>The work of <see cref="DropoutForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void DropoutForwardCore(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y);
    /// <summary>The work of <see cref="DropoutBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void DropoutBackwardCore(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx);

    // ---- Merges (Add, Multiply, Average, Maximum), Concatenate, and gradient sums ---------------------------

    /// <summary>
    /// Add, Multiply, Average or Maximum of several tensors of one shape: inputs (L) each, at least one -> output
    /// (L), combined in the inputs' order (see MergeKind)
    /// </summary>
    public void MergeForward(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        const string op = "merge forward";
        MergeKindKnown(op, kind);
        Own(output, nameof(output));
        if (inputs.Length < 1)
            throw new ArgumentException($"{op}: at least one input is needed", nameof(inputs));
        foreach (var input in inputs)
            Lengths(op, (input, nameof(inputs), output.Length));
        MergeForwardCore(kind, inputs, output);
    }

    /// <summary>
    /// The merge's backward: inputs (L) each, output (L) (forward's), outputGrad (L) -> inputGrads (L) each, null
    /// where not needed; overwritten. No input gradient may share memory with another or with outputGrad.
    /// </summary>
    public void MergeBackward(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output, DeviceBuffer outputGrad,
        ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        const string op = "merge backward";
        MergeKindKnown(op, kind);
        Own(output, nameof(output));
        Lengths(op, (outputGrad, nameof(outputGrad), output.Length));
        if (inputs.Length < 1 || inputGrads.Length != inputs.Length)
            throw new ArgumentException($"{op}: {inputs.Length} inputs and {inputGrads.Length} input gradients; one gradient (or null) per input is needed", nameof(inputGrads));
        foreach (var input in inputs)
            Lengths(op, (input, nameof(inputs), output.Length));
        foreach (var grad in inputGrads)
            Optional(op, grad, nameof(inputGrads), output.Length);
        MergeBackwardCore(kind, inputs, output, outputGrad, inputGrads);
    }

    /// <summary>
    /// Concatenate along the last axis: inputs (Rows, Widths[i]) -> output (Rows, Width)
    /// </summary>
    public void ConcatenateForward(in ConcatenateShape shape, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        const string op = "Concatenate forward";
        Lengths(op, (output, nameof(output), shape.OutputLength));
        if (inputs.Length != shape.Count)
            throw new ArgumentException($"{op}: {inputs.Length} inputs for a shape of {shape.Count}", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
            Lengths(op, (inputs[i], nameof(inputs), shape.InputLength(i)));
        ConcatenateForwardCore(shape, inputs, output);
    }

    /// <summary>
    /// Concatenate's backward: outputGrad (Rows, Width) -> inputGrads (Rows, Widths[i]), null where not needed;
    /// overwritten
    /// </summary>
    public void ConcatenateBackward(in ConcatenateShape shape, DeviceBuffer outputGrad, ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        const string op = "Concatenate backward";
        Lengths(op, (outputGrad, nameof(outputGrad), shape.OutputLength));
        if (inputGrads.Length != shape.Count)
            throw new ArgumentException($"{op}: {inputGrads.Length} input gradients for a shape of {shape.Count}", nameof(inputGrads));
        for (int i = 0; i < inputGrads.Length; i++)
            Optional(op, inputGrads[i], nameof(inputGrads), shape.InputLength(i));
        ConcatenateBackwardCore(shape, outputGrad, inputGrads);
    }

    /// <summary>
    /// total (L) += gradient (L): the gradient of a tensor that several layers read is the sum of theirs, added in the
    /// order the generated backward meets them (the same bits every run).
    /// </summary>
    public void Accumulate(DeviceBuffer gradient, DeviceBuffer total)
    {
        Own(gradient, nameof(gradient));
        Lengths("gradient sum", (total, nameof(total), gradient.Length));
        AccumulateCore(gradient, total);
    }

    /// <summary>The work of <see cref="MergeForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void MergeForwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output);
    /// <summary>The work of <see cref="MergeBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void MergeBackwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output, DeviceBuffer outputGrad,
        ReadOnlySpan<DeviceBuffer?> inputGrads);
    /// <summary>The work of <see cref="ConcatenateForward"/>, its buffers already checked against the shape.</summary>
    protected abstract void ConcatenateForwardCore(in ConcatenateShape shape, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output);
    /// <summary>The work of <see cref="ConcatenateBackward"/>, its buffers already checked against the shape.</summary>
    protected abstract void ConcatenateBackwardCore(in ConcatenateShape shape, DeviceBuffer outputGrad, ReadOnlySpan<DeviceBuffer?> inputGrads);
    /// <summary>The work of <see cref="Accumulate"/>, its buffers already checked against the shape.</summary>
    protected abstract void AccumulateCore(DeviceBuffer gradient, DeviceBuffer total);

    private static void MergeKindKnown(string op, MergeKind kind)
    {
        if (kind is not (MergeKind.Add or MergeKind.Multiply or MergeKind.Average or MergeKind.Maximum))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, $"{op}: unknown merge");
    }

    // ---- Loss ----------------------------------------------------------------------------------------

    /// <summary>
    /// A loss and its gradient (<see cref="LossFunction"/>): outputs (B, K) are the output layer's (logits for the
    /// cross-entropies), targets (B, K), or (B) class indices for sparse targets. Writes predictions (B, K) (softmax,
    /// sigmoid, or the outputs themselves: for the regression losses predictions may be the outputs' own buffer),
    /// outputsGrad (B, K) = dL/doutputs of the batch-mean loss unless null, and adds the batch's sums into
    /// <paramref name="metrics"/> (<see cref="MetricSlot"/>), which stay on the device until read. Without targets
    /// (prediction) only the predictions are written, and gradient and metrics must be null. A class index outside
    /// [0, K) gives its sample a NaN loss, which training's finite-loss check stops at.
    /// </summary>
    public void Loss(in LossFunction loss, int batch, int outputs, DeviceBuffer modelOutputs, DeviceBuffer? targets, DeviceBuffer predictions,
        DeviceBuffer? outputsGrad, DeviceBuffer? metrics)
    {
        string op = loss.KerasName;
        loss.Check(op);
        ShapeChecks.Positive(op, (nameof(batch), batch), (nameof(outputs), outputs));
        int length = batch * outputs;
        Lengths(op, (modelOutputs, "outputs", length), (predictions, nameof(predictions), length));
        Optional(op, targets, nameof(targets), loss.TargetLength(batch, outputs));
        Optional(op, outputsGrad, nameof(outputsGrad), length);
        Optional(op, metrics, nameof(metrics), MetricSlot.Count, required: targets is not null);
        if (targets is null && (outputsGrad is not null || metrics is not null))
            throw new ArgumentException($"{op}: a gradient or metrics need targets", nameof(targets));
        if (ReferenceEquals(predictions, modelOutputs) && loss.FromLogits)
            throw new ArgumentException($"{op}: the predictions cannot overwrite the logits they are computed from", nameof(predictions));
        LossCore(loss, batch, outputs, modelOutputs, targets, predictions, outputsGrad, metrics);
    }

    /// <summary>
    /// Softmax + categorical cross-entropy (<see cref="Loss"/> with <see cref="LossFunction.CategoricalCrossentropy"/>):
    /// logits (B, K), one-hot labels (B, K) -> probabilities (B, K), logitsGrad (B, K) = (p - y) / B unless null.
    /// </summary>
    public void SoftmaxCrossEntropy(int batch, int classes, DeviceBuffer logits, DeviceBuffer? labels, DeviceBuffer probabilities,
        DeviceBuffer? logitsGrad, DeviceBuffer? metrics) =>
        Loss(LossFunction.CategoricalCrossentropy, batch, classes, logits, labels, probabilities, logitsGrad, metrics);

    /// <summary>The work of <see cref="Loss"/>, its buffers already checked against the shape.</summary>
    protected abstract void LossCore(in LossFunction loss, int batch, int outputs, DeviceBuffer modelOutputs, DeviceBuffer? targets,
        DeviceBuffer predictions, DeviceBuffer? outputsGrad, DeviceBuffer? metrics);

    // ---- Optimizers, penalties, constraints --------------------------------------------------------------

    /// <summary>
    /// One Adam step, as Keras computes it: param, grad, m, v (L): one call may cover every parameter when they share
    /// one arena
    /// </summary>
    public void AdamUpdate(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        Own(param, nameof(param));
        Lengths("Adam", (grad, nameof(grad), param.Length), (m, nameof(m), param.Length), (v, nameof(v), param.Length));
        AdamUpdateCore(settings, step, param, grad, m, v);
    }

    /// <summary>
    /// One SGD step, as Keras computes it (momentum and Nesterov as its settings ask): param, grad, velocity (L);
    /// velocity may be null without momentum
    /// </summary>
    public void SgdUpdate(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity)
    {
        Own(param, nameof(param));
        Lengths("SGD", (grad, nameof(grad), param.Length));
        Optional("SGD", velocity, nameof(velocity), param.Length, required: settings.Momentum != 0f);
        SgdUpdateCore(settings, param, grad, velocity);
    }

    /// <summary>grad += the penalty's gradient; metrics[LossSum] += lossWeight * penalty (the batch size, so that the loss sum stays a sum over samples).</summary>
    public void AddRegularizer(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight)
    {
        Own(param, nameof(param));
        Lengths("regularizer", (grad, nameof(grad), param.Length), (metrics, nameof(metrics), MetricSlot.Count));
        AddRegularizerCore(regularizer, param, grad, metrics, lossWeight);
    }

    /// <summary>Applies a constraint to a parameter of shape <paramref name="dims"/>, after its update.</summary>
    public void ApplyConstraint(Constraint constraint, IReadOnlyList<int> dims, DeviceBuffer param)
    {
        Own(param, nameof(param));
        Lengths($"{constraint.Kind} constraint", (param, nameof(param), dims.Aggregate(1, (a, b) => a * b)));
        ApplyConstraintCore(constraint, dims, param);
    }

    /// <summary>The work of <see cref="AdamUpdate"/>, its buffers already checked against the shape.</summary>
    protected abstract void AdamUpdateCore(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v);
    /// <summary>The work of <see cref="SgdUpdate"/>, its buffers already checked against the shape.</summary>
    protected abstract void SgdUpdateCore(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity);
    /// <summary>The work of <see cref="AddRegularizer"/>, its buffers already checked against the shape.</summary>
    protected abstract void AddRegularizerCore(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight);
    /// <summary>The work of <see cref="ApplyConstraint"/>, its buffers already checked against the shape.</summary>
    protected abstract void ApplyConstraintCore(Constraint constraint, IReadOnlyList<int> dims, DeviceBuffer param);

    private long _hostFallbacks;

    /// <summary>
    /// Operations this backend handed to the managed reference on the host instead of running its own
    /// kernels (a device backend downloads, computes and uploads again). Zero for a backend that runs
    /// everything itself; tests check it against what each backend declares, so that a case claimed for
    /// a backend's own kernels cannot be passed by the reference in disguise.
    /// </summary>
    public long HostFallbacks => Interlocked.Read(ref _hostFallbacks);

    /// <summary>Counts one operation run on the host through the reference (see <see cref="HostFallbacks"/>).</summary>
    protected void CountHostFallback() => Interlocked.Increment(ref _hostFallbacks);

    /// <summary>
    /// Whether kernels may be called from several threads at once, each call on buffers of its own (true for the managed,
    /// SIMD and C backends, whose scratch memory is per thread). Where not (OpenCL's kernel objects hold their arguments),
    /// concurrent predictions take turns.
    /// </summary>
    public virtual bool RunsConcurrently => true;

    // What callers take turns on where kernels cannot run side by side.
    internal object Turns { get; } = new();

    /// <summary>Waits for every queued kernel (a no-op where kernels run synchronously).</summary>
    public virtual void Synchronize()
    {
    }

    /// <summary>
    /// Whether <see cref="GuardUpdates"/> holds the updates back on the device itself: then a trainer need not read the
    /// loss back after every step to keep a non-finite one from reaching the weights (a device backend, where a read
    /// waits for the queue to drain). False where kernels run on the host, whose loss is read for free.
    /// </summary>
    public virtual bool GuardsUpdatesOnDevice => false;

    /// <summary>
    /// From now on (null: no longer) the optimizer's updates (<see cref="AdamUpdate"/>, <see cref="SgdUpdate"/>) and the
    /// constraints (<see cref="ApplyConstraint"/>) change nothing while the one value of <paramref name="lossSum"/> is not
    /// finite: a step whose loss is NaN or Inf, and every step after it, leaves the weights and the optimizer's state as
    /// they were. Only where <see cref="GuardsUpdatesOnDevice"/>; elsewhere it is refused.
    /// </summary>
    public void GuardUpdates(DeviceBuffer? lossSum)
    {
        if (!GuardsUpdatesOnDevice)
            throw new NotSupportedException($"the {Name} backend does not guard updates on a device; read the loss after each step instead");
        if (lossSum is not null)
        {
            Own(lossSum, nameof(lossSum));
            Lengths("update guard", (lossSum, nameof(lossSum), 1));
        }
        GuardUpdatesCore(lossSum);
    }

    /// <summary>The work of <see cref="GuardUpdates"/>: where the backend guards updates on its device, it overrides this.</summary>
    protected virtual void GuardUpdatesCore(DeviceBuffer? lossSum) =>
        throw new NotSupportedException($"the {Name} backend does not guard updates on a device");

    /// <summary>True once disposed; models refuse to run on it.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Releases the backend's device, threads and memory; buffers and models on it become unusable.</summary>
    public void Dispose()
    {
        if (IsDisposed)
            return;
        IsDisposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the backend holds, once; <paramref name="disposing"/> is false from a finalizer.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    // ---- Checks ------------------------------------------------------------------------------------------

    private void Own(DeviceBuffer buffer, string name)
    {
        ArgumentNullException.ThrowIfNull(buffer, name);
        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        if (!ReferenceEquals(buffer.Owner, this))
            throw new ArgumentException($"{name} belongs to the {buffer.Owner.Name} backend, not to {Name}", name);
    }

    private static void Same(string op, int length, DeviceBuffer buffer)
    {
        if (length != buffer.Length)
            throw new ArgumentException($"{op}: the host span holds {length} floats, the buffer {buffer.Length}");
    }

    private void Lengths(string op, params ReadOnlySpan<(DeviceBuffer Buffer, string Name, int Expected)> buffers)
    {
        foreach (var (buffer, name, expected) in buffers)
        {
            Own(buffer, name);
            if (buffer.Length != expected)
                throw new ArgumentException($"{op}: {name} holds {buffer.Length} floats, the shape needs {expected}", name);
        }
    }

    private void Optional(string op, DeviceBuffer? buffer, string name, int expected, bool required = false)
    {
        if (buffer is null)
        {
            if (required)
                throw new ArgumentException($"{op}: {name} is required here", name);
            return;
        }
        Lengths(op, (buffer, name, expected));
    }

    // The fused epilogue's buffers: z unless linear, alpha for PReLU (of the activation's alpha length).
    private void Epilogue(string op, FusedActivation activation, int batch, int featureLength, DeviceBuffer? alpha, DeviceBuffer? preActivation, int outputLength)
    {
        activation.CheckCovers(batch, featureLength, op);
        Optional(op, preActivation, nameof(preActivation), outputLength, required: activation.Kind != ActivationKind.Linear);
        if (activation.Kind == ActivationKind.PRelu)
            Optional(op, alpha, nameof(alpha), activation.PRelu!.AlphaLength, required: true);
    }

    private void AlphaGrad(string op, FusedActivation activation, DeviceBuffer? alphaGrad)
    {
        if (activation.Kind == ActivationKind.PRelu)
            Optional(op, alphaGrad, nameof(alphaGrad), activation.PRelu!.AlphaLength, required: true);
    }
}

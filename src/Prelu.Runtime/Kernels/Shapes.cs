namespace Prelu.Kernels;

/// <summary>
/// A 2-D convolution over NHWC input with a kernel stored as Keras stores it, (KH, KW, Cin, Cout).
/// Input (Batch, Height, Width, InChannels); output (Batch, OutHeight, OutWidth, Filters).
/// </summary>
public readonly record struct Conv2DShape
{
    /// <summary>A convolution's sizes, checked: each at least 1, and the kernel fitting the input under 'valid' padding.</summary>
    public Conv2DShape(int batch, int height, int width, int inChannels, int filters,
        int kernelHeight, int kernelWidth, int strideY = 1, int strideX = 1, Padding padding = Padding.Valid)
    {
        ShapeChecks.Positive(nameof(Conv2DShape), (nameof(batch), batch), (nameof(height), height), (nameof(width), width),
            (nameof(inChannels), inChannels), (nameof(filters), filters), (nameof(kernelHeight), kernelHeight),
            (nameof(kernelWidth), kernelWidth), (nameof(strideY), strideY), (nameof(strideX), strideX));
        Batch = batch;
        Height = height;
        Width = width;
        InChannels = inChannels;
        Filters = filters;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        StrideY = strideY;
        StrideX = strideX;
        Padding = padding;
        (OutHeight, PadTop) = SpatialAxis.Resolve(height, kernelHeight, strideY, padding);
        (OutWidth, PadLeft) = SpatialAxis.Resolve(width, kernelWidth, strideX, padding);
        if (OutHeight == 0 || OutWidth == 0)
        {
            throw new ArgumentException(
                $"Conv2D: a {kernelHeight}x{kernelWidth} kernel does not fit a {height}x{width} input with 'valid' padding");
        }
    }

    /// <summary>Samples in the batch.</summary>
    public int Batch { get; }
    /// <summary>The input's height.</summary>
    public int Height { get; }
    /// <summary>The input's width.</summary>
    public int Width { get; }
    /// <summary>The input's channels.</summary>
    public int InChannels { get; }
    /// <summary>Kernels, and so output channels.</summary>
    public int Filters { get; }
    /// <summary>The kernel's height.</summary>
    public int KernelHeight { get; }
    /// <summary>The kernel's width.</summary>
    public int KernelWidth { get; }
    /// <summary>The vertical stride.</summary>
    public int StrideY { get; }
    /// <summary>The horizontal stride.</summary>
    public int StrideX { get; }
    /// <summary>'valid' (no padding) or 'same' (zeros around the input, more after than before when odd, as Keras pads).</summary>
    public Padding Padding { get; }
    /// <summary>The output's height.</summary>
    public int OutHeight { get; }
    /// <summary>The output's width.</summary>
    public int OutWidth { get; }
    /// <summary>Zero rows above the input ('same' padding).</summary>
    public int PadTop { get; }
    /// <summary>Zero columns left of the input ('same' padding).</summary>
    public int PadLeft { get; }

    /// <summary>Floats in the input (Batch, Height, Width, InChannels).</summary>
    public int InputLength => Batch * Height * Width * InChannels;
    /// <summary>Floats in the kernel (KernelHeight, KernelWidth, InChannels, Filters).</summary>
    public int KernelLength => KernelHeight * KernelWidth * InChannels * Filters;
    /// <summary>Floats in the bias (Filters).</summary>
    public int BiasLength => Filters;
    /// <summary>Floats in the output (Batch, OutHeight, OutWidth, Filters).</summary>
    public int OutputLength => Batch * OutHeight * OutWidth * Filters;

    /// <summary>The same convolution for another batch size (inference on a last, shorter batch).</summary>
    public Conv2DShape WithBatch(int batch) =>
        new(batch, Height, Width, InChannels, Filters, KernelHeight, KernelWidth, StrideY, StrideX, Padding);
}

/// <summary>
/// A depthwise 2-D convolution (Keras's DepthwiseConv2D, PyTorch's Conv2d with groups = channels) over NHWC input: each
/// input channel c has <see cref="Multiplier"/> kernels of its own, kernel (KH, KW, Channels, Multiplier) as Keras stores
/// it; output (Batch, OutHeight, OutWidth, Channels x Multiplier), output channel c x Multiplier + m.
/// </summary>
public readonly record struct DepthwiseConv2DShape
{
    /// <summary>A depthwise convolution's sizes, checked: each at least 1, and the kernel fitting the input under 'valid' padding.</summary>
    public DepthwiseConv2DShape(int batch, int height, int width, int channels, int multiplier,
        int kernelHeight, int kernelWidth, int strideY = 1, int strideX = 1, Padding padding = Padding.Valid)
    {
        ShapeChecks.Positive(nameof(DepthwiseConv2DShape), (nameof(batch), batch), (nameof(height), height), (nameof(width), width),
            (nameof(channels), channels), (nameof(multiplier), multiplier), (nameof(kernelHeight), kernelHeight),
            (nameof(kernelWidth), kernelWidth), (nameof(strideY), strideY), (nameof(strideX), strideX));
        Batch = batch;
        Height = height;
        Width = width;
        Channels = channels;
        Multiplier = multiplier;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        StrideY = strideY;
        StrideX = strideX;
        Padding = padding;
        (OutHeight, PadTop) = SpatialAxis.Resolve(height, kernelHeight, strideY, padding);
        (OutWidth, PadLeft) = SpatialAxis.Resolve(width, kernelWidth, strideX, padding);
        if (OutHeight == 0 || OutWidth == 0)
        {
            throw new ArgumentException(
                $"DepthwiseConv2D: a {kernelHeight}x{kernelWidth} kernel does not fit a {height}x{width} input with 'valid' padding");
        }
    }

    /// <summary>Samples in the batch.</summary>
    public int Batch { get; }
    /// <summary>The input's height.</summary>
    public int Height { get; }
    /// <summary>The input's width.</summary>
    public int Width { get; }
    /// <summary>The input's channels.</summary>
    public int Channels { get; }
    /// <summary>Kernels per input channel (Keras's depth_multiplier).</summary>
    public int Multiplier { get; }
    /// <summary>The kernel's height.</summary>
    public int KernelHeight { get; }
    /// <summary>The kernel's width.</summary>
    public int KernelWidth { get; }
    /// <summary>The vertical stride.</summary>
    public int StrideY { get; }
    /// <summary>The horizontal stride.</summary>
    public int StrideX { get; }
    /// <summary>'valid' (no padding) or 'same' (zeros around the input, as Keras pads).</summary>
    public Padding Padding { get; }
    /// <summary>The output's height.</summary>
    public int OutHeight { get; }
    /// <summary>The output's width.</summary>
    public int OutWidth { get; }
    /// <summary>Zero rows above the input ('same' padding).</summary>
    public int PadTop { get; }
    /// <summary>Zero columns left of the input ('same' padding).</summary>
    public int PadLeft { get; }

    /// <summary>Output channels: Channels x Multiplier.</summary>
    public int OutChannels => Channels * Multiplier;

    /// <summary>Floats in the input (Batch, Height, Width, Channels).</summary>
    public int InputLength => Batch * Height * Width * Channels;
    /// <summary>Floats in the kernel (KernelHeight, KernelWidth, Channels, Multiplier).</summary>
    public int KernelLength => KernelHeight * KernelWidth * OutChannels;
    /// <summary>Floats in the bias (OutChannels).</summary>
    public int BiasLength => OutChannels;
    /// <summary>Floats in the output (Batch, OutHeight, OutWidth, OutChannels).</summary>
    public int OutputLength => Batch * OutHeight * OutWidth * OutChannels;
}

/// <summary>
/// Max or average pooling over NHWC input: (Batch, Height, Width, Channels) to (Batch, OutHeight, OutWidth, Channels).
/// With 'valid' padding the last rows and columns that do not fill a window are dropped (floor), as in Keras.
/// Global pooling is the window of the whole map: (Batch, 1, 1, Channels), which is (Batch, Channels) in memory.
/// </summary>
public readonly record struct Pool2DShape
{
    /// <summary>A pooling's sizes, checked: each at least 1, and the window fitting the input.</summary>
    public Pool2DShape(int batch, int height, int width, int channels, int poolHeight, int poolWidth,
        int strideY, int strideX, Padding padding = Padding.Valid)
    {
        ShapeChecks.Positive(nameof(Pool2DShape), (nameof(batch), batch), (nameof(height), height), (nameof(width), width),
            (nameof(channels), channels), (nameof(poolHeight), poolHeight), (nameof(poolWidth), poolWidth),
            (nameof(strideY), strideY), (nameof(strideX), strideX));
        Batch = batch;
        Height = height;
        Width = width;
        Channels = channels;
        PoolHeight = poolHeight;
        PoolWidth = poolWidth;
        StrideY = strideY;
        StrideX = strideX;
        Padding = padding;
        (OutHeight, PadTop) = SpatialAxis.Resolve(height, poolHeight, strideY, padding);
        (OutWidth, PadLeft) = SpatialAxis.Resolve(width, poolWidth, strideX, padding);
        if (OutHeight == 0 || OutWidth == 0)
            throw new ArgumentException($"Pooling: a {poolHeight}x{poolWidth} pool does not fit a {height}x{width} input");
    }

    /// <summary>Keras's default: strides equal to the pool size.</summary>
    public Pool2DShape(int batch, int height, int width, int channels, int poolHeight, int poolWidth)
        : this(batch, height, width, channels, poolHeight, poolWidth, poolHeight, poolWidth)
    {
    }

    /// <summary>Samples in the batch.</summary>
    public int Batch { get; }
    /// <summary>The input's height.</summary>
    public int Height { get; }
    /// <summary>The input's width.</summary>
    public int Width { get; }
    /// <summary>Channels, the same in and out.</summary>
    public int Channels { get; }
    /// <summary>The window's height.</summary>
    public int PoolHeight { get; }
    /// <summary>The window's width.</summary>
    public int PoolWidth { get; }
    /// <summary>The vertical stride.</summary>
    public int StrideY { get; }
    /// <summary>The horizontal stride.</summary>
    public int StrideX { get; }
    /// <summary>'valid' (windows inside the input) or 'same' (windows past its edges, the outside left out).</summary>
    public Padding Padding { get; }
    /// <summary>The output's height.</summary>
    public int OutHeight { get; }
    /// <summary>The output's width.</summary>
    public int OutWidth { get; }
    /// <summary>Rows of the first windows above the input ('same' padding).</summary>
    public int PadTop { get; }
    /// <summary>Columns of the first windows left of the input ('same' padding).</summary>
    public int PadLeft { get; }

    /// <summary>Floats in the input (Batch, Height, Width, Channels).</summary>
    public int InputLength => Batch * Height * Width * Channels;
    /// <summary>Floats in the output (Batch, OutHeight, OutWidth, Channels).</summary>
    public int OutputLength => Batch * OutHeight * OutWidth * Channels;
}

/// <summary>
/// Batch normalisation over the last axis (Keras's axis -1: the channels of an NHWC map, the features of a
/// flat input): the input seen as (Rows, Channels), Rows = Batch x Positions (Positions = height x width, or 1),
/// with one mean, variance, scale and offset per channel.
/// </summary>
public readonly record struct BatchNormShape
{
    /// <summary>A batch normalization's sizes, each at least 1.</summary>
    public BatchNormShape(int batch, int positions, int channels)
    {
        ShapeChecks.Positive(nameof(BatchNormShape), (nameof(batch), batch), (nameof(positions), positions), (nameof(channels), channels));
        Batch = batch;
        Positions = positions;
        Channels = channels;
    }

    /// <summary>Samples in the batch.</summary>
    public int Batch { get; }

    /// <summary>Positions per sample that share a channel's statistics (height x width of a map; 1 after Dense).</summary>
    public int Positions { get; }

    /// <summary>Channels (or features): one mean, variance, scale and offset each.</summary>
    public int Channels { get; }

    /// <summary>Rows the statistics are taken over: every position of every sample.</summary>
    public int Rows => Batch * Positions;

    /// <summary>Floats in the input, and in the output.</summary>
    public int Length => Rows * Channels;
}

/// <summary>A dense layer: input (Batch, Inputs), kernel (Inputs, Units) as Keras stores it, output (Batch, Units).</summary>
public readonly record struct DenseShape
{
    /// <summary>A dense layer's sizes, each at least 1.</summary>
    public DenseShape(int batch, int inputs, int units)
    {
        ShapeChecks.Positive(nameof(DenseShape), (nameof(batch), batch), (nameof(inputs), inputs), (nameof(units), units));
        Batch = batch;
        Inputs = inputs;
        Units = units;
    }

    /// <summary>Samples in the batch.</summary>
    public int Batch { get; }
    /// <summary>Features in.</summary>
    public int Inputs { get; }
    /// <summary>Features out.</summary>
    public int Units { get; }

    /// <summary>Floats in the input (Batch, Inputs).</summary>
    public int InputLength => Batch * Inputs;
    /// <summary>Floats in the kernel (Inputs, Units).</summary>
    public int KernelLength => Inputs * Units;
    /// <summary>Floats in the bias (Units).</summary>
    public int BiasLength => Units;
    /// <summary>Floats in the output (Batch, Units).</summary>
    public int OutputLength => Batch * Units;
}

internal static class ShapeChecks
{
    public static void Positive(string shape, params ReadOnlySpan<(string Name, int Value)> sizes)
    {
        foreach (var (name, value) in sizes)
        {
            if (value <= 0)
                throw new ArgumentOutOfRangeException(name, value, $"{shape}: {name} must be at least 1, got {value}");
        }
    }
}

namespace Prelu.Kernels;

/// <summary>
/// A 2-D convolution over NHWC input with a kernel stored as Keras stores it, (KH, KW, Cin, Cout).
/// Input (Batch, Height, Width, InChannels); output (Batch, OutHeight, OutWidth, Filters).
/// </summary>
public readonly record struct Conv2DShape
{
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

    public int Batch { get; }
    public int Height { get; }
    public int Width { get; }
    public int InChannels { get; }
    public int Filters { get; }
    public int KernelHeight { get; }
    public int KernelWidth { get; }
    public int StrideY { get; }
    public int StrideX { get; }
    public Padding Padding { get; }
    public int OutHeight { get; }
    public int OutWidth { get; }
    public int PadTop { get; }
    public int PadLeft { get; }

    public int InputLength => Batch * Height * Width * InChannels;
    public int KernelLength => KernelHeight * KernelWidth * InChannels * Filters;
    public int BiasLength => Filters;
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

    public int Batch { get; }
    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }
    public int Multiplier { get; }
    public int KernelHeight { get; }
    public int KernelWidth { get; }
    public int StrideY { get; }
    public int StrideX { get; }
    public Padding Padding { get; }
    public int OutHeight { get; }
    public int OutWidth { get; }
    public int PadTop { get; }
    public int PadLeft { get; }

    /// <summary>Output channels: Channels x Multiplier.</summary>
    public int OutChannels => Channels * Multiplier;

    public int InputLength => Batch * Height * Width * Channels;
    public int KernelLength => KernelHeight * KernelWidth * OutChannels;
    public int BiasLength => OutChannels;
    public int OutputLength => Batch * OutHeight * OutWidth * OutChannels;
}

/// <summary>
/// Max or average pooling over NHWC input: (Batch, Height, Width, Channels) to (Batch, OutHeight, OutWidth, Channels).
/// With 'valid' padding the last rows and columns that do not fill a window are dropped (floor), as in Keras.
/// Global pooling is the window of the whole map: (Batch, 1, 1, Channels), which is (Batch, Channels) in memory.
/// </summary>
public readonly record struct Pool2DShape
{
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

    public int Batch { get; }
    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }
    public int PoolHeight { get; }
    public int PoolWidth { get; }
    public int StrideY { get; }
    public int StrideX { get; }
    public Padding Padding { get; }
    public int OutHeight { get; }
    public int OutWidth { get; }
    public int PadTop { get; }
    public int PadLeft { get; }

    public int InputLength => Batch * Height * Width * Channels;
    public int OutputLength => Batch * OutHeight * OutWidth * Channels;
}

/// <summary>
/// Batch normalisation over the last axis (Keras's axis -1: the channels of an NHWC map, the features of a
/// flat input): the input seen as (Rows, Channels), Rows = Batch x Positions (Positions = height x width, or 1),
/// with one mean, variance, scale and offset per channel.
/// </summary>
public readonly record struct BatchNormShape
{
    public BatchNormShape(int batch, int positions, int channels)
    {
        ShapeChecks.Positive(nameof(BatchNormShape), (nameof(batch), batch), (nameof(positions), positions), (nameof(channels), channels));
        Batch = batch;
        Positions = positions;
        Channels = channels;
    }

    public int Batch { get; }

    /// <summary>Positions per sample that share a channel's statistics (height x width of a map; 1 after Dense).</summary>
    public int Positions { get; }

    public int Channels { get; }

    /// <summary>Rows the statistics are taken over: every position of every sample.</summary>
    public int Rows => Batch * Positions;

    public int Length => Rows * Channels;
}

/// <summary>A dense layer: input (Batch, Inputs), kernel (Inputs, Units) as Keras stores it, output (Batch, Units).</summary>
public readonly record struct DenseShape
{
    public DenseShape(int batch, int inputs, int units)
    {
        ShapeChecks.Positive(nameof(DenseShape), (nameof(batch), batch), (nameof(inputs), inputs), (nameof(units), units));
        Batch = batch;
        Inputs = inputs;
        Units = units;
    }

    public int Batch { get; }
    public int Inputs { get; }
    public int Units { get; }

    public int InputLength => Batch * Inputs;
    public int KernelLength => Inputs * Units;
    public int BiasLength => Units;
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

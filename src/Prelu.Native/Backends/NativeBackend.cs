using System.Runtime.InteropServices;
using Prelu.Kernels;
using Prelu.Native.Interop;
using Prelu.Reference;
using static Prelu.Native.Interop.NativeMethods;

namespace Prelu.Native.Backends;

/// <summary>
/// The contract filled by libprelu's C kernels (AVX2/FMA where the CPU has them, portable C elsewhere),
/// on 64-byte-aligned native memory, with OpenMP threads. Buffers are host memory, so the rare
/// operations without a C kernel (constraints) run the managed reference on the same memory.
/// </summary>
public sealed unsafe class NativeBackend : Backend
{
    /// <param name="threads">Kernel threads; 0 means one per core.</param>
    /// <exception cref="NativeLibraryUnavailableException">libprelu cannot be loaded.</exception>
    public NativeBackend(int threads = 0)
    {
        PreluNativeLibrary.EnsureLoaded();
        if (threads < 0)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be 0 (one per core) or more");
        PreluNativeLibrary.Threads = threads;
    }

    /// <inheritdoc />
    public override string Name => "native";

    /// <summary>
    /// When set, every layer kernel adds its time, the dense-equivalent FLOPs of its matrix products (what a direct
    /// computation of them takes, where it has any) and the FLOPs the C kernels reported executing for it
    /// (<see cref="PreluNativeLibrary.FlopsExecuted"/>) under a label naming the operation and its shape, and counts the
    /// calls a label sums (layers of one shape share one): the per-layer breakdown of `Prelu.Benchmarks step --breakdown`.
    /// The C kernels are synchronous, so a call's wall time is its cost.
    /// </summary>
    public Dictionary<string, (double Seconds, double Flops, double Executed, int Calls)>? KernelTimes { get; set; }

    private readonly struct Timed : IDisposable
    {
        private readonly NativeBackend? _backend;
        private readonly string _label;
        private readonly double _flops;
        private readonly long _start, _executedBefore;

        // The label is built by the caller only when timing is on (`KernelTimes is null ? "" : ...`).
        public Timed(NativeBackend backend, string label, double flops)
        {
            _backend = backend.KernelTimes is null ? null : backend;
            _label = label;
            _flops = flops;
            _executedBefore = _backend is null ? 0 : NativeMethods.FlopsExecuted();
            _start = _backend is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
        }

        public void Dispose()
        {
            if (_backend?.KernelTimes is not { } times)
                return;
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_start).TotalSeconds;
            double executed = NativeMethods.FlopsExecuted() - _executedBefore;
            times[_label] = times.TryGetValue(_label, out var sum)
                ? (sum.Seconds + seconds, sum.Flops + _flops, sum.Executed + executed, sum.Calls + 1)
                : (seconds, _flops, executed, 1);
        }
    }

    private static string Dims(int h, int w, int c) => $"{h}x{w}x{c}";

    // A convolution's window and stride where they are not 3x3 and 1 (the usual ones, which the labels leave out): the
    // residual network's 1x1 projection and its 3x3 convolution of stride 2 map the same shapes and differ by this alone.
    private static string Window(in Kernels.Conv2DShape s) =>
        s.KernelHeight == 3 && s.KernelWidth == 3 && s.StrideY == 1 && s.StrideX == 1 ? "" :
        $", {s.KernelHeight}x{s.KernelWidth}" + (s.StrideY == 1 && s.StrideX == 1 ? "" : s.StrideY == s.StrideX ? $" stride {s.StrideY}" : $" stride {s.StrideY}x{s.StrideX}");

    // A convolution's breakdown label: the operation, input -> output (-> the pooling's output), the window where it is not
    // the usual one, the activation, and a dropout after it.
    private static string ConvLabel(string operation, in Kernels.Conv2DShape s, FusedActivation activation, string pooled = "", bool dropout = false) =>
        $"{operation} {Dims(s.Height, s.Width, s.InChannels)} -> {Dims(s.OutHeight, s.OutWidth, s.Filters)}{pooled}{Window(s)}, " +
        ActivationLabel(activation) + (dropout ? ", dropout" : "");

    private static string ActivationLabel(FusedActivation activation) =>
        activation.PRelu is { } p ? $"prelu {p.Sharing}" : activation.Kind.ToString().ToLowerInvariant();

    private sealed class NativeBuffer : DeviceBuffer
    {
        private readonly bool _owns;

        public NativeBuffer(NativeBackend owner, float* pointer, int length, bool owns) : base(owner, length)
        {
            Pointer = pointer;
            _owns = owns;
        }

        public float* Pointer { get; }

        protected override DeviceBuffer SliceCore(int offset, int length) => new NativeBuffer((NativeBackend)Owner, Pointer + offset, length, owns: false);

        protected override void Free()
        {
            if (_owns)
                NativeMemory.AlignedFree(Pointer);
        }

        ~NativeBuffer()
        {
            if (_owns && !IsDisposed)
                NativeMemory.AlignedFree(Pointer);
        }
    }

    private static float* P(DeviceBuffer buffer) => ((NativeBuffer)buffer).Pointer;

    // An optional buffer: NULL when absent, which the C kernels read as "none".
    private static float* Opt(DeviceBuffer? buffer) => buffer is null ? null : ((NativeBuffer)buffer).Pointer;

    private static Span<float> S(DeviceBuffer buffer) => new(P(buffer), buffer.Length);

    /// <inheritdoc />
    protected override DeviceBuffer AllocateCore(int length)
    {
        nuint bytes = (nuint)Math.Max(length, 1) * sizeof(float);
        var pointer = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(pointer, bytes);
        return new NativeBuffer(this, pointer, length, owns: true);
    }

    /// <inheritdoc />
    protected override void UploadCore(ReadOnlySpan<float> source, DeviceBuffer destination) => source.CopyTo(S(destination));

    /// <inheritdoc />
    protected override void DownloadCore(DeviceBuffer source, Span<float> destination) => S(source).CopyTo(destination);

    /// <inheritdoc />
    protected override void FillCore(DeviceBuffer buffer, float value) => S(buffer).Fill(value);

    /// <inheritdoc />
    protected override void CopyCore(DeviceBuffer source, DeviceBuffer destination) => S(source).CopyTo(S(destination));

    // ---- Shapes and activations as the C ABI takes them --------------------------------------------------

    private static NativeMethods.Conv2DShape Shape(in Kernels.Conv2DShape s) => new()
    {
        Batch = s.Batch, Height = s.Height, Width = s.Width, InChannels = s.InChannels, Filters = s.Filters,
        KernelH = s.KernelHeight, KernelW = s.KernelWidth, StrideY = s.StrideY, StrideX = s.StrideX,
        PadTop = s.PadTop, PadLeft = s.PadLeft, OutH = s.OutHeight, OutW = s.OutWidth,
    };

    private static NativeMethods.Conv2DShape Shape(in Pool2DShape s) => new()
    {
        Batch = s.Batch, Height = s.Height, Width = s.Width, InChannels = s.Channels, Filters = s.Channels,
        KernelH = s.PoolHeight, KernelW = s.PoolWidth, StrideY = s.StrideY, StrideX = s.StrideX,
        PadTop = s.PadTop, PadLeft = s.PadLeft, OutH = s.OutHeight, OutW = s.OutWidth,
    };

    // The alpha map pointer must stay pinned while the kernel runs: callers use it inside Pin().
    private static Activation Describe(FusedActivation activation, int featureLength, int* alphaMap)
    {
        var native = new Activation { Kind = (int)activation.Kind, Parameter = activation.Parameter, FeatureLength = featureLength };
        if (activation.PRelu is { } prelu)
        {
            native.AlphaLength = prelu.AlphaLength;
            native.Channels = prelu.FeatureDims[^1];
            native.Sharing = AlphaSharing.Code(prelu.Sharing);
            native.AlphaMap = alphaMap;
        }
        return native;
    }

    private static ReadOnlySpan<int> AlphaMapOf(FusedActivation activation) => activation.PRelu is { } p ? p.AlphaMap : default;

    /// <inheritdoc />
    protected override void Conv2DForwardCore(in Kernels.Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : ConvLabel("conv2d forward", shape, activation), ConvProductFlops(shape));
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, shape.OutHeight * shape.OutWidth * shape.Filters, map);
            NativeMethods.Conv2DForward(&s, &act, P(input), P(kernel), Opt(bias), Opt(alpha), Opt(preActivation), P(output));
        }
    }

    /// <inheritdoc />
    protected override void Conv2DBackwardCore(in Kernels.Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : ConvLabel("conv2d backward", shape, activation),
            ConvProductFlops(shape) * (inputGrad is null ? 1 : 2));
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, shape.OutHeight * shape.OutWidth * shape.Filters, map);
            NativeMethods.Conv2DBackward(&s, &act, P(input), P(kernel), Opt(alpha), Opt(preActivation), P(outputGrad),
                Opt(inputGrad), P(kernelGrad), Opt(biasGrad), Opt(alphaGrad));
        }
    }

    // A depthwise convolution in the C ABI's convolution shape: filters are its output channels, C x M.
    private static NativeMethods.Conv2DShape Shape(in DepthwiseConv2DShape s) => new()
    {
        Batch = s.Batch, Height = s.Height, Width = s.Width, InChannels = s.Channels, Filters = s.OutChannels,
        KernelH = s.KernelHeight, KernelW = s.KernelWidth, StrideY = s.StrideY, StrideX = s.StrideX,
        PadTop = s.PadTop, PadLeft = s.PadLeft, OutH = s.OutHeight, OutW = s.OutWidth,
    };

    private static double DepthwiseFlops(in DepthwiseConv2DShape s) => 2.0 * s.OutputLength * s.KernelHeight * s.KernelWidth;

    /// <inheritdoc />
    protected override void DepthwiseConv2DForwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : $"depthwise conv2d forward {Dims(shape.Height, shape.Width, shape.Channels)} -> " +
            $"{Dims(shape.OutHeight, shape.OutWidth, shape.OutChannels)}, {ActivationLabel(activation)}", DepthwiseFlops(shape));
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, shape.OutHeight * shape.OutWidth * shape.OutChannels, map);
            NativeMethods.DepthwiseConv2DForward(&s, &act, P(input), P(kernel), Opt(bias), Opt(alpha), Opt(preActivation), P(output));
        }
    }

    /// <inheritdoc />
    protected override void DepthwiseConv2DBackwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : $"depthwise conv2d backward {Dims(shape.Height, shape.Width, shape.Channels)} -> " +
            $"{Dims(shape.OutHeight, shape.OutWidth, shape.OutChannels)}, {ActivationLabel(activation)}", DepthwiseFlops(shape) * (inputGrad is null ? 1 : 2));
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, shape.OutHeight * shape.OutWidth * shape.OutChannels, map);
            NativeMethods.DepthwiseConv2DBackward(&s, &act, P(input), P(kernel), Opt(alpha), Opt(preActivation), P(outputGrad),
                Opt(inputGrad), P(kernelGrad), Opt(biasGrad), Opt(alphaGrad));
        }
    }

    /// <inheritdoc />
    protected override void Conv2DPoolForwardCore(in Kernels.Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooled,
        DropoutAfter? dropout)
    {
        var s = Shape(conv);
        var p = Shape(pool);
        using var timed = new Timed(this, KernelTimes is null ? "" : ConvLabel("conv2d + maxpool forward", conv, activation,
            $" -> {Dims(pool.OutHeight, pool.OutWidth, pool.Channels)}", dropout is not null),
            ConvProductFlops(conv));
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, conv.OutHeight * conv.OutWidth * conv.Filters, map);
            var drop = dropout is { } d
                ? new NativeMethods.Dropout { Rate = d.Rate, Seed = d.Seed, Step = d.Step, Mask = P(d.Mask), Output = P(d.Output) }
                : default;
            NativeMethods.Conv2DPoolForward(&s, &act, &p, P(input), P(kernel), Opt(bias), Opt(alpha), Opt(preActivation), P(output), P(pooled),
                dropout is null ? null : &drop);
        }
    }

    /// <inheritdoc />
    protected override void Conv2DPoolBackwardCore(in Kernels.Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooledGrad, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad, DeviceBuffer? dropoutMask)
    {
        var s = Shape(conv);
        var p = Shape(pool);
        using var timed = new Timed(this, KernelTimes is null ? "" : ConvLabel("conv2d + maxpool backward", conv, activation,
            $" -> {Dims(pool.OutHeight, pool.OutWidth, pool.Channels)}", dropoutMask is not null),
            ConvProductFlops(conv) * (inputGrad is null ? 1 : 2));
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, conv.OutHeight * conv.OutWidth * conv.Filters, map);
            NativeMethods.Conv2DPoolBackward(&s, &act, &p, P(input), P(kernel), Opt(alpha), Opt(preActivation), P(output), P(pooledGrad),
                Opt(dropoutMask), P(outputGrad), Opt(inputGrad), P(kernelGrad), Opt(biasGrad), Opt(alphaGrad));
        }
    }

    /// <inheritdoc />
    protected override void Conv2DBatchNormForwardCore(in Kernels.Conv2DShape conv, in BatchNormAfter norm, bool training, FusedActivation activation,
        DeviceBuffer input, DeviceBuffer kernel, DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer convOutput, DeviceBuffer? preActivation,
        DeviceBuffer output)
    {
        int positions = conv.OutHeight * conv.OutWidth;
        if (!training)
        {
            // The normalization folded into the convolution's kernel and bias, the activation its epilogue: one pass, convOutput untouched.
            var s = Shape(conv);
            using var folded = new Timed(this, KernelTimes is null ? "" : ConvLabel("conv2d + batchnorm inference", conv, activation), ConvProductFlops(conv));
            fixed (int* map = AlphaMapOf(activation))
            {
                var act = Describe(activation, positions * conv.Filters, map);
                NativeMethods.Conv2DBatchNormInference(&s, &act, P(input), P(kernel), Opt(bias), Opt(norm.Gamma), Opt(norm.Beta), P(norm.MovingMean),
                    P(norm.MovingVariance), norm.Epsilon, Opt(alpha), Opt(preActivation), P(output));
            }
            return;
        }
        Conv2DForwardCore(conv, FusedActivation.Linear, input, kernel, bias, null, null, convOutput);
        using var timed = new Timed(this, KernelTimes is null ? "" : $"batchnorm + {ActivationLabel(activation)} forward {conv.Batch * positions}x{conv.Filters}", 0);
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, positions * conv.Filters, map);
            NativeMethods.BatchNormActivationForward(conv.Batch, positions, conv.Filters, training: 1, norm.Momentum, norm.Epsilon, P(convOutput),
                Opt(norm.Gamma), Opt(norm.Beta), P(norm.MovingMean), P(norm.MovingVariance), &act, Opt(alpha), Opt(preActivation), P(output));
        }
    }

    /// <inheritdoc />
    protected override void Conv2DBatchNormBackwardCore(in Kernels.Conv2DShape conv, in BatchNormAfter norm, FusedActivation activation, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? alpha, DeviceBuffer convOutput, DeviceBuffer? preActivation, DeviceBuffer outputGrad,
        DeviceBuffer normalizedGrad, DeviceBuffer? inputGrad, DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? gammaGrad,
        DeviceBuffer? betaGrad, DeviceBuffer? alphaGrad)
    {
        // The activation's and the normalization's gradients in place in outputGrad (normalizedGrad is not needed), then the convolution's.
        int positions = conv.OutHeight * conv.OutWidth;
        using (new Timed(this, KernelTimes is null ? "" : $"batchnorm + {ActivationLabel(activation)} backward {conv.Batch * positions}x{conv.Filters}", 0))
        {
            fixed (int* map = AlphaMapOf(activation))
            {
                var act = Describe(activation, positions * conv.Filters, map);
                NativeMethods.BatchNormActivationBackward(conv.Batch, positions, conv.Filters, norm.Epsilon, P(convOutput), Opt(norm.Gamma), &act,
                    Opt(alpha), Opt(preActivation), P(outputGrad), Opt(gammaGrad), Opt(betaGrad), Opt(alphaGrad));
            }
        }
        Conv2DBackwardCore(conv, FusedActivation.Linear, input, kernel, null, null, outputGrad, inputGrad, kernelGrad, biasGrad, null);
    }

    /// <inheritdoc />
    protected override void MaxPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : $"maxpool forward {Dims(shape.Height, shape.Width, shape.Channels)}", 0);
        NativeMethods.MaxPool2DForward(&s, P(input), P(output));
    }

    /// <inheritdoc />
    protected override void MaxPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : $"maxpool backward {Dims(shape.Height, shape.Width, shape.Channels)}", 0);
        NativeMethods.MaxPool2DBackward(&s, P(input), P(outputGrad), P(inputGrad));
    }

    /// <inheritdoc />
    protected override void AvgPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : $"avgpool forward {Dims(shape.Height, shape.Width, shape.Channels)}", 0);
        NativeMethods.AvgPool2DForward(&s, P(input), P(output));
    }

    /// <inheritdoc />
    protected override void AvgPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer outputGrad, DeviceBuffer inputGrad)
    {
        var s = Shape(shape);
        using var timed = new Timed(this, KernelTimes is null ? "" : $"avgpool backward {Dims(shape.Height, shape.Width, shape.Channels)}", 0);
        NativeMethods.AvgPool2DBackward(&s, P(outputGrad), P(inputGrad));
    }

    /// <inheritdoc />
    protected override void BatchNormForwardCore(in BatchNormShape shape, bool training, float momentum, float epsilon, DeviceBuffer x,
        DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer movingMean, DeviceBuffer movingVariance, DeviceBuffer y)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"batchnorm forward {shape.Rows}x{shape.Channels}", 0);
        NativeMethods.BatchNormForward(shape.Rows, shape.Channels, training ? 1 : 0, momentum, epsilon, P(x), Opt(gamma), Opt(beta),
            P(movingMean), P(movingVariance), P(y));
    }

    /// <inheritdoc />
    protected override void BatchNormBackwardCore(in BatchNormShape shape, float epsilon, DeviceBuffer x, DeviceBuffer? gamma, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer? gammaGrad, DeviceBuffer? betaGrad)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"batchnorm backward {shape.Rows}x{shape.Channels}", 0);
        NativeMethods.BatchNormBackward(shape.Rows, shape.Channels, epsilon, P(x), Opt(gamma), P(outputGrad), Opt(inputGrad), Opt(gammaGrad), Opt(betaGrad));
    }

    /// <inheritdoc />
    protected override void DenseForwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"dense forward {shape.Inputs} -> {shape.Units}, {ActivationLabel(activation)}",
            2.0 * shape.Batch * shape.Inputs * shape.Units);
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, shape.Units, map);
            NativeMethods.DenseForward(shape.Batch, shape.Inputs, shape.Units, &act, P(input), P(kernel), Opt(bias), Opt(alpha),
                Opt(preActivation), P(output));
        }
    }

    /// <inheritdoc />
    protected override void DenseBackwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"dense backward {shape.Inputs} -> {shape.Units}, {ActivationLabel(activation)}",
            2.0 * shape.Batch * shape.Inputs * shape.Units * (inputGrad is null ? 1 : 2));
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, shape.Units, map);
            NativeMethods.DenseBackward(shape.Batch, shape.Inputs, shape.Units, &act, P(input), P(kernel), Opt(alpha), Opt(preActivation),
                P(outputGrad), Opt(inputGrad), P(kernelGrad), Opt(biasGrad), Opt(alphaGrad));
        }
    }

    /// <inheritdoc />
    protected override void ActivationForwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y)
    {
        // Without PReLU's shape, treat the buffer as one sample of x.Length features.
        int batch = activation.PRelu?.Batch ?? 1;
        using var timed = new Timed(this, KernelTimes is null ? "" : $"{ActivationLabel(activation)} forward {x.Length} floats", 0);
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, x.Length / batch, map);
            NativeMethods.ActivationForward(batch, &act, P(x), Opt(alpha), P(y));
        }
    }

    /// <inheritdoc />
    protected override void ActivationBackwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad)
    {
        int batch = activation.PRelu?.Batch ?? 1;
        using var timed = new Timed(this, KernelTimes is null ? "" : $"{ActivationLabel(activation)} backward {x.Length} floats", 0);
        fixed (int* map = AlphaMapOf(activation))
        {
            var act = Describe(activation, x.Length / batch, map);
            NativeMethods.ActivationBackward(batch, &act, P(x), Opt(alpha), P(dy), Opt(dx), Opt(alphaGrad));
        }
    }

    /// <inheritdoc />
    protected override void DropoutForwardCore(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"dropout forward {x.Length} floats", 0);
        NativeMethods.DropoutForward(x.Length, rate, seed, step, P(x), P(mask), P(y));
    }

    /// <inheritdoc />
    protected override void DropoutBackwardCore(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"dropout backward {mask.Length} floats", 0);
        NativeMethods.DropoutBackward(mask.Length, P(mask), P(dy), P(dx));
    }

    // A few buffers' pointers for one call, on the stack: merges take a handful of inputs.
    private const int MaxStackInputs = 64;

    /// <inheritdoc />
    protected override void MergeForwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"{kind} forward {inputs.Length} x {output.Length} floats", 0);
        float** pointers = stackalloc float*[Math.Min(inputs.Length, MaxStackInputs)];
        Pointers(inputs, pointers);
        NativeMethods.MergeForward(output.Length, (int)kind, inputs.Length, pointers, P(output));
    }

    /// <inheritdoc />
    protected override void MergeBackwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output, DeviceBuffer outputGrad,
        ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"{kind} backward {inputs.Length} x {output.Length} floats", 0);
        float** pointers = stackalloc float*[Math.Min(inputs.Length, MaxStackInputs)];
        float** grads = stackalloc float*[Math.Min(inputs.Length, MaxStackInputs)];
        Pointers(inputs, pointers);
        OptionalPointers(inputGrads, grads);
        NativeMethods.MergeBackward(output.Length, (int)kind, inputs.Length, pointers, P(output), P(outputGrad), grads);
    }

    /// <inheritdoc />
    protected override void ConcatenateForwardCore(in ConcatenateShape shape, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"concatenate forward {shape.Count} x {shape.Rows} rows", 0);
        float** pointers = stackalloc float*[Math.Min(inputs.Length, MaxStackInputs)];
        Pointers(inputs, pointers);
        fixed (int* widths = shape.Widths)
            NativeMethods.ConcatenateForward(shape.Rows, shape.Count, widths, pointers, P(output));
    }

    /// <inheritdoc />
    protected override void ConcatenateBackwardCore(in ConcatenateShape shape, DeviceBuffer outputGrad, ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"concatenate backward {shape.Count} x {shape.Rows} rows", 0);
        float** grads = stackalloc float*[Math.Min(inputGrads.Length, MaxStackInputs)];
        OptionalPointers(inputGrads, grads);
        fixed (int* widths = shape.Widths)
            NativeMethods.ConcatenateBackward(shape.Rows, shape.Count, widths, P(outputGrad), grads);
    }

    /// <inheritdoc />
    protected override void AccumulateCore(DeviceBuffer gradient, DeviceBuffer total)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : $"gradient sum {total.Length} floats", 0);
        NativeMethods.Accumulate(total.Length, P(gradient), P(total));
    }

    private static void Pointers(ReadOnlySpan<DeviceBuffer> buffers, float** pointers)
    {
        StackInputs(buffers.Length);
        for (int i = 0; i < buffers.Length; i++)
            pointers[i] = P(buffers[i]);
    }

    private static void OptionalPointers(ReadOnlySpan<DeviceBuffer?> buffers, float** pointers)
    {
        StackInputs(buffers.Length);
        for (int i = 0; i < buffers.Length; i++)
            pointers[i] = Opt(buffers[i]);
    }

    private static void StackInputs(int count)
    {
        if (count > MaxStackInputs)
            throw new ArgumentException($"the native backend merges at most {MaxStackInputs} tensors in one call, not {count}");
    }

    /// <inheritdoc />
    protected override void LossCore(in LossFunction loss, int batch, int outputs, DeviceBuffer modelOutputs, DeviceBuffer? targets,
        DeviceBuffer predictions, DeviceBuffer? outputsGrad, DeviceBuffer? metrics)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : loss.KerasName, 0);
        NativeMethods.Loss((int)loss.Kind, loss.Delta, batch, outputs, P(modelOutputs), Opt(targets), P(predictions), Opt(outputsGrad), Opt(metrics));
    }

    /// <inheritdoc />
    protected override void AdamUpdateCore(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v)
    {
        using var timed = new Timed(this, KernelTimes is null ? "" : "adam", 0);
        NativeMethods.Adam(param.Length, settings.StepSize(step), settings.Beta1, settings.Beta2, settings.Epsilon, P(param), P(grad), P(m), P(v));
    }

    /// <inheritdoc />
    protected override void SgdUpdateCore(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity) =>
        NativeMethods.Sgd(param.Length, settings.LearningRate, settings.Momentum, settings.Nesterov ? 1 : 0, P(param), P(grad), Opt(velocity));

    /// <inheritdoc />
    protected override void AddRegularizerCore(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight) =>
        NativeMethods.Regularizer(param.Length, regularizer.L1, regularizer.L2, P(param), P(grad), P(metrics), lossWeight);

    // One matrix product of a convolution: output positions x filters x window size, a multiply and an add each.
    private static double ConvProductFlops(in Kernels.Conv2DShape s) =>
        2.0 * s.Batch * s.OutHeight * s.OutWidth * s.Filters * s.KernelHeight * s.KernelWidth * s.InChannels;

    // The constraints run through the reference, in place on the native memory: once per step, and cheap.
    /// <inheritdoc />
    protected override void ApplyConstraintCore(Constraint constraint, IReadOnlyList<int> dims, DeviceBuffer param)
    {
        CountHostFallback();
        Regularization.ApplyConstraint<float>(constraint, dims, S(param));
    }
}

using Prelu.Kernels;
using Prelu.Reference;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>
/// The kernel contract on an OpenCL device (a GPU, or a CPU through PoCL), through Silk.NET.OpenCL. All
/// tensors live in device memory; uploads and downloads are the only copies, and every operation of a
/// training step, penalties and constraints included, runs as device kernels queued without a wait.
/// Convolutions and dense layers are register-blocked products (gemm.cl, built per set of tiles, with
/// bias and activation in the epilogue); a convolution and the max pooling after it go by the pooling's winners
/// (conv_pool.cl, built per pair of shapes and activation); the rest is prelu.cl, built once, and again per
/// convolution or pooling shape once that shape has run SpecialiseAfter times.
/// One thread at a time may use a backend (its CL kernels hold their arguments).
/// </summary>
public sealed unsafe partial class OpenClBackend : Backend
{
    private readonly CL _cl;
    private readonly nint _context, _queue, _device;
    private readonly Dictionary<ProgramKey, nint> _programs = [];
    private readonly Dictionary<(ProgramKey Program, string Name), nint> _kernels = [];
    private readonly DeviceBuffer _dummy;
    private bool _disposed;
    private int _liveBuffers;

    /// <summary>cl_mem objects this backend holds now (allocated and not yet disposed): what a leak test watches.</summary>
    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    /// <summary>Creates a backend on <paramref name="device"/>.</summary>
    /// <exception cref="ClException">A CL call failed; the kernels' build log is in the message.</exception>
    public OpenClBackend(OpenClDevice device)
    {
        _cl = OpenClDevices.ApiOrThrow();
        Device = device;
        int error;
        nint id = device.Id;
        lock (OpenClDevices.CallbackCalls)
            _context = _cl.CreateContext(null, 1, &id, default, null, &error);
        ClException.Check(error, "clCreateContext");
        _queue = _cl.CreateCommandQueue(_context, id, CommandQueueProperties.None, &error);
        ClException.Check(error, "clCreateCommandQueue");
        _device = id;
        ReadDeviceLimits();
        _programs[AnyShape] = BuildProgram(id, AnyShape);
        _dummy = AllocateCore(1);
    }

    /// <summary>Picks a device (see <see cref="OpenClDevices.Choose"/>) and creates a backend on it.</summary>
    /// <exception cref="InvalidOperationException">There is no OpenCL device to use; the message says why.</exception>
    public static OpenClBackend Create(string? device = null) =>
        new(OpenClDevices.Choose(device, out var reason) ?? throw new InvalidOperationException($"No OpenCL backend: {reason}"));

    /// <summary>The device the kernels run on.</summary>
    public OpenClDevice Device { get; }

    /// <inheritdoc />
    public override string Name => $"opencl ({Device.Name})";

    /// <inheritdoc />
    /// <remarks>False: a kernel object holds its arguments between setting them and the launch, and the scratch buffers are the backend's.</remarks>
    public override bool RunsConcurrently => false;

    // ---- Buffers: a cl_mem and an offset in floats ------------------------------------------------------------

    private sealed class ClBuffer(OpenClBackend owner, nint memory, int offset, int length, bool owns) : DeviceBuffer(owner, length)
    {
        public nint Memory { get; } = memory;
        public int Offset { get; } = offset;

        protected override DeviceBuffer SliceCore(int start, int count) => new ClBuffer((OpenClBackend)Owner, Memory, Offset + start, count, owns: false);

        protected override void Free()
        {
            if (!owns)
                return;
            var backend = (OpenClBackend)Owner;
            ClException.Check(backend._cl.ReleaseMemObject(Memory), "clReleaseMemObject");
            Interlocked.Decrement(ref backend._liveBuffers);
        }
    }

    private static ClBuffer B(DeviceBuffer buffer) => (ClBuffer)buffer;

    /// <inheritdoc />
    protected override DeviceBuffer AllocateCore(int length)
    {
        int error;
        var memory = _cl.CreateBuffer(_context, MemFlags.ReadWrite, (nuint)Math.Max(length, 1) * sizeof(float), null, &error);
        ClException.Check(error, "clCreateBuffer");
        var buffer = new ClBuffer(this, memory, 0, length, owns: true);
        Interlocked.Increment(ref _liveBuffers);
        FillCore(buffer, 0f);
        return buffer;
    }

    // Uploads go through two pinned staging arrays in turn, written to the device without a wait: the host
    // copies the next batch while the device still runs the step before it, and waits only when it comes
    // back to a staging array whose last write has not finished (the event between them).
    private readonly float[]?[] _staging = new float[]?[2];
    private readonly nint[] _stagingWritten = new nint[2];
    private int _nextStaging;

    /// <inheritdoc />
    protected override void UploadCore(ReadOnlySpan<float> source, DeviceBuffer destination)
    {
        if (source.IsEmpty)
            return;
        int slot = _nextStaging;
        _nextStaging = 1 - slot;
        WaitForStaging(slot);
        ref var staging = ref _staging[slot];
        if (staging is null || staging.Length < source.Length)
            staging = GC.AllocateUninitializedArray<float>(source.Length, pinned: true);
        source.CopyTo(staging);
        var b = B(destination);
        nint written;
        fixed (float* s = staging)
        {
            ClException.Check(_cl.EnqueueWriteBuffer(_queue, b.Memory, false, (nuint)b.Offset * sizeof(float), (nuint)source.Length * sizeof(float), s,
                0, null, &written), "clEnqueueWriteBuffer");
        }
        _stagingWritten[slot] = written;
    }

    private void WaitForStaging(int slot)
    {
        nint written = _stagingWritten[slot];
        if (written == 0)
            return;
        _stagingWritten[slot] = 0;
        try
        {
            // Only a write still queued is waited for (the host then runs more than a step ahead of the device).
            int status;
            ClException.Check(_cl.GetEventInfo(written, EventInfo.CommandExecutionStatus, sizeof(int), &status, null), "clGetEventInfo(upload)");
            if (status != 0) // CL_COMPLETE
            {
                Interlocked.Increment(ref _uploadWaits);
                ClException.Check(_cl.WaitForEvents(1, &written), "clWaitForEvents(upload)");
            }
        }
        finally
        {
            _cl.ReleaseEvent(written);
        }
    }

    private long _queueDrains, _uploadWaits;

    /// <summary>
    /// Calls that waited for the device to finish everything queued before them: blocking reads (a download) and
    /// clFinish (<see cref="Synchronize"/>). A steady-state training step makes none (the trainer reads the loss only at
    /// a progress update, an epoch's end or a checkpoint).
    /// </summary>
    public long QueueDrains => Interlocked.Read(ref _queueDrains);

    /// <summary>
    /// Uploads that waited for their staging array's write of two uploads before: the host had run more than a step
    /// ahead of the device, and waits for it to catch up (the device stays busy meanwhile).
    /// </summary>
    public long UploadWaits => Interlocked.Read(ref _uploadWaits);

    /// <inheritdoc />
    protected override void DownloadCore(DeviceBuffer source, Span<float> destination)
    {
        if (destination.IsEmpty)
            return;
        Interlocked.Increment(ref _queueDrains);
        var b = B(source);
        fixed (float* d = destination)
            ClException.Check(_cl.EnqueueReadBuffer(_queue, b.Memory, true, (nuint)b.Offset * sizeof(float), (nuint)destination.Length * sizeof(float), d, 0, null, null), "clEnqueueReadBuffer");
    }

    /// <inheritdoc />
    protected override void FillCore(DeviceBuffer buffer, float value)
    {
        if (buffer.Length == 0)
            return;
        var b = B(buffer);
        ClException.Check(_cl.EnqueueFillBuffer(_queue, b.Memory, &value, sizeof(float), (nuint)b.Offset * sizeof(float), (nuint)b.Length * sizeof(float), 0, null, null), "clEnqueueFillBuffer");
    }

    /// <inheritdoc />
    protected override void CopyCore(DeviceBuffer source, DeviceBuffer destination)
    {
        if (source.Length == 0)
            return;
        var s = B(source);
        var d = B(destination);
        ClException.Check(_cl.EnqueueCopyBuffer(_queue, s.Memory, d.Memory, (nuint)s.Offset * sizeof(float), (nuint)d.Offset * sizeof(float), (nuint)s.Length * sizeof(float), 0, null, null), "clEnqueueCopyBuffer");
    }

    /// <inheritdoc />
    public override void Synchronize()
    {
        Interlocked.Increment(ref _queueDrains);
        ClException.Check(_cl.Finish(_queue), "clFinish");
    }


    // ---- The contract ---------------------------------------------------------------------------------------------

    // The sharing code the kernels know (see AlphaSharing; 3, irregular axes, reads the index table it
    // returns), and the channel count.
    private int Sharing(FusedActivation activation, out int channels, out IndexTable? groups)
    {
        channels = 1;
        groups = null;
        if (activation.PRelu is not { } prelu)
            return 0;
        channels = prelu.FeatureDims[^1];
        if (prelu.Sharing == PReluSharing.Other)
            groups = Table(prelu);
        return AlphaSharing.Code(prelu.Sharing);
    }

    private static Launch Conv(Launch launch, in Conv2DShape s) => launch.Int(s.Batch).Int(s.Height).Int(s.Width).Int(s.InChannels).Int(s.Filters)
        .Int(s.KernelHeight).Int(s.KernelWidth).Int(s.StrideY).Int(s.StrideX).Int(s.PadTop).Int(s.PadLeft).Int(s.OutHeight).Int(s.OutWidth);

    private static Launch Pool(Launch launch, in Pool2DShape s) => launch.Int(s.Batch).Int(s.Height).Int(s.Width).Int(s.Channels)
        .Int(s.PoolHeight).Int(s.PoolWidth).Int(s.StrideY).Int(s.StrideX).Int(s.PadTop).Int(s.PadLeft).Int(s.OutHeight).Int(s.OutWidth);

    // A convolution whose im2col matrix is its input: 1x1 windows, stride 1, no padding.
    private static bool IsPointwise(in Conv2DShape s) =>
        s.KernelHeight == 1 && s.KernelWidth == 1 && s.StrideY == 1 && s.StrideX == 1 && s.PadTop == 0 && s.PadLeft == 0;

    // The im2col matrix of the input, (N * OH * OW, KH * KW * C).
    private DeviceBuffer Columns(in Conv2DShape s, DeviceBuffer input)
    {
        if (IsPointwise(s))
            return input;
        long rows = (long)s.Batch * s.OutHeight * s.OutWidth;
        var columns = Scratch(ScratchSlot.Columns, rows * s.KernelHeight * s.KernelWidth * s.InChannels);
        Conv(Run("im2col", Program(s)), s).Buffer(input).Memory(columns).Run(rows);
        return columns;
    }

    /// <inheritdoc />
    protected override void Conv2DForwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        int rows = shape.Batch * shape.OutHeight * shape.OutWidth, window = shape.KernelHeight * shape.KernelWidth * shape.InChannels;
        var columns = Columns(shape, input);
        Gemm(new GemmProduct(rows, shape.Filters, window, window, 1, shape.Filters, shape.OutHeight * shape.OutWidth, Epilogue: true),
            columns, kernel, output, activation, bias, alpha, preActivation);
    }

    /// <inheritdoc />
    protected override void Conv2DBackwardCore(in Conv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        int rows = shape.Batch * shape.OutHeight * shape.OutWidth, window = shape.KernelHeight * shape.KernelWidth * shape.InChannels;
        int filters = shape.Filters;
        EpilogueBackward(activation, shape.Batch, shape.OutputLength / shape.Batch, preActivation, alpha, outputGrad, alphaGrad);
        // dkernel (window, F) = columns^T * dz, columns read transposed in place.
        Gemm(new GemmProduct(window, filters, rows, 1, window, filters, 1, Epilogue: false), Columns(shape, input), outputGrad, kernelGrad);
        if (biasGrad is not null)
            ColumnSums(rows, filters, outputGrad, biasGrad);
        if (inputGrad is null)
            return;
        // dcolumns (rows, window) = dz * kernel^T, then col2im adds each input position's entries.
        var transposed = Scratch(ScratchSlot.TransposedKernel, shape.KernelLength);
        Transpose(window, filters, 1, kernel, transposed);
        var product = new GemmProduct(rows, window, filters, filters, 1, window, 1, Epilogue: false);
        if (IsPointwise(shape))
        {
            Gemm(product, outputGrad, transposed, inputGrad);
            return;
        }
        var columnGrads = Scratch(ScratchSlot.ColumnGradients, (long)rows * window);
        Gemm(product, outputGrad, transposed, columnGrads);
        Conv(Run("col2im", Program(shape)), shape).Memory(columnGrads).Buffer(inputGrad).Run((long)shape.Batch * shape.Height * shape.Width);
    }

    private static Launch Depthwise(Launch launch, in DepthwiseConv2DShape s) => launch.Int(s.Batch).Int(s.Height).Int(s.Width).Int(s.Channels)
        .Int(s.Multiplier).Int(s.KernelHeight).Int(s.KernelWidth).Int(s.StrideY).Int(s.StrideX).Int(s.PadTop).Int(s.PadLeft).Int(s.OutHeight).Int(s.OutWidth);

    /// <inheritdoc />
    protected override void DepthwiseConv2DForwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output)
    {
        var z = activation.Kind == ActivationKind.Linear ? output : preActivation!;
        Depthwise(Run("depthwise_forward"), shape).Buffer(input).Buffer(kernel).Buffer(bias).Int(bias is null ? 0 : 1).Buffer(z)
            .Run((long)shape.Batch * shape.OutHeight * shape.OutWidth);
        if (activation.Kind != ActivationKind.Linear)
            ActivationForwardCore(activation, z, alpha, output);
    }

    /// <inheritdoc />
    protected override void DepthwiseConv2DBackwardCore(in DepthwiseConv2DShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        EpilogueBackward(activation, shape.Batch, shape.OutputLength / shape.Batch, preActivation, alpha, outputGrad, alphaGrad);
        Depthwise(Run("depthwise_kernel_grad"), shape).Buffer(input).Buffer(outputGrad).Buffer(kernelGrad).Run(shape.KernelLength);
        if (biasGrad is not null)
            ColumnSums(shape.Batch * shape.OutHeight * shape.OutWidth, shape.OutChannels, outputGrad, biasGrad);
        if (inputGrad is not null)
            Depthwise(Run("depthwise_input_grad"), shape).Buffer(kernel).Buffer(outputGrad).Buffer(inputGrad).Run((long)shape.Batch * shape.Height * shape.Width);
    }

    // out (cols) = the sums down the columns of a (rows, cols) matrix g (a bias gradient). Partial sums
    // over fixed chunks of rows, then the chunks in order: enough work-items for any device, the same bits
    // every run.
    private void ColumnSums(int rows, int cols, DeviceBuffer g, DeviceBuffer sums)
    {
        var (chunks, perChunk) = Chunks(rows, cols);
        var partials = Scratch(ScratchSlot.Partials, (long)chunks * cols);
        ColumnPartials(rows, cols, chunks, perChunk, g, partials);
        Run("column_finish").Int(chunks).Int(cols).Float(1f).Memory(partials).Buffer(sums).Run(cols);
    }

    // partials (chunks, cols): each chunk's column sums (prelu.cl's column_partials, 8 columns a work-item where they allow).
    private void ColumnPartials(int rows, int cols, int chunks, int perChunk, DeviceBuffer g, DeviceBuffer partials)
    {
        bool byEight = cols % 8 == 0;
        Run(byEight ? "column_partials_by8" : "column_partials").Int(rows).Int(cols).Int(perChunk).Buffer(g).Memory(partials)
            .Run(byEight ? cols / 8 : cols, chunks, 1);
    }

    private static (int Chunks, int PerChunk) Chunks(int rows, int cols)
    {
        const int WorkItems = 4096;
        int perChunk = Ceiling(rows, Math.Clamp(Ceiling(WorkItems, cols), 1, rows));
        return (Ceiling(rows, perChunk), perChunk);
    }

    // dL/dy -> dL/dz in place; for PReLU, the alpha gradient in the same pass.
    private void EpilogueBackward(FusedActivation activation, int batch, int features, DeviceBuffer? z, DeviceBuffer? alpha, DeviceBuffer grad, DeviceBuffer? alphaGrad)
    {
        if (activation.Kind == ActivationKind.Linear)
            return;
        if (activation.PRelu is not { } prelu)
        {
            Run("activation_backward").Int((int)activation.Kind).Float(activation.Parameter).Buffer(z).Buffer(grad).Run((long)batch * features);
            return;
        }
        int sharing = Sharing(activation, out int channels, out var groups);
        // The input as (rows, cols) with one alpha per column.
        var (rows, cols) = prelu.Sharing switch
        {
            PReluSharing.ChannelWise => (batch * (features / channels), channels),
            PReluSharing.ChannelShared => (batch * features, 1),
            _ => (batch, features),
        };
        var (chunks, perChunk) = Chunks(rows, cols);
        var partials = Scratch(ScratchSlot.Partials, (long)chunks * cols);
        Run("prelu_backward").Int(rows).Int(cols).Int(perChunk).Int(sharing).Buffer(z).Buffer(alpha).Memory(groups?.Map ?? 0).Buffer(grad).Memory(partials)
            .Run(cols, chunks, 1);
        if (alphaGrad is null)
            return;
        if (groups is null)
        {
            Run("column_finish").Int(chunks).Int(cols).Float(1f).Memory(partials).Buffer(alphaGrad).Run(cols);
            return;
        }
        // Irregular shared axes: per-feature sums, then each alpha's features in ascending order.
        var featureSums = Scratch(ScratchSlot.FeatureSums, features);
        Run("column_finish").Int(chunks).Int(cols).Float(1f).Memory(partials).Memory(featureSums).Int(0).Run(cols);
        Run("group_sums").Int(0).Memory(groups.Offsets).Memory(groups.Members).Buffer(featureSums).Buffer(alphaGrad).Run(groups.Groups);
    }

    /// <inheritdoc />
    protected override void MaxPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        Pool(Run("maxpool_forward", Program(shape)), shape).Buffer(input).Buffer(output).Run(shape.OutputLength / shape.Channels);

    /// <inheritdoc />
    protected override void MaxPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer outputGrad, DeviceBuffer inputGrad)
    {
        if (shape.StrideY >= shape.PoolHeight && shape.StrideX >= shape.PoolWidth)
        {
            // Windows do not overlap: each hands its gradient to its winner; every other element is zero.
            FillCore(inputGrad, 0f);
            Pool(Run("maxpool_backward_scatter", Program(shape)), shape).Buffer(input).Buffer(outputGrad).Buffer(inputGrad)
                .Run(shape.OutputLength / shape.Channels);
            return;
        }
        Pool(Run("maxpool_backward", Program(shape)), shape).Buffer(input).Buffer(outputGrad).Buffer(inputGrad).Run(shape.InputLength);
    }

    /// <inheritdoc />
    protected override void AvgPool2DForwardCore(in Pool2DShape shape, DeviceBuffer input, DeviceBuffer output) =>
        Pool(Run("avgpool_forward", Program(shape)), shape).Buffer(input).Buffer(output).Run(shape.OutputLength / shape.Channels);

    /// <inheritdoc />
    protected override void AvgPool2DBackwardCore(in Pool2DShape shape, DeviceBuffer outputGrad, DeviceBuffer inputGrad) =>
        Pool(Run("avgpool_backward", Program(shape)), shape).Buffer(outputGrad).Buffer(inputGrad).Run(shape.InputLength);

    // Each channel's batch mean and biased variance (Statistics: mean, then variance), from partial sums over
    // fixed chunks of rows added in order: mean first, then the squared deviations from it.
    private DeviceBuffer BatchStatistics(in BatchNormShape shape, DeviceBuffer x)
    {
        int rows = shape.Rows, cols = shape.Channels;
        var statistics = Scratch(ScratchSlot.Statistics, 2L * cols);
        var (chunks, perChunk) = Chunks(rows, cols);
        var partials = Scratch(ScratchSlot.Partials, 2L * chunks * cols);
        ColumnPartials(rows, cols, chunks, perChunk, x, partials);
        Run("column_finish").Int(chunks).Int(cols).Float(1f / rows).Memory(partials).Memory(statistics).Int(0).Run(cols);
        Run("squared_deviation_partials").Int(rows).Int(cols).Int(perChunk).Buffer(x).Memory(statistics).Memory(partials).Run(cols, chunks, 1);
        Run("column_finish").Int(chunks).Int(cols).Float(1f / rows).Memory(partials).Memory(statistics).Int(cols).Run(cols);
        return statistics;
    }

    /// <inheritdoc />
    protected override void BatchNormForwardCore(in BatchNormShape shape, bool training, float momentum, float epsilon, DeviceBuffer x,
        DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer movingMean, DeviceBuffer movingVariance, DeviceBuffer y)
    {
        int cols = shape.Channels;
        DeviceBuffer mean = movingMean, variance = movingVariance;
        if (training)
        {
            var statistics = BatchStatistics(shape, x);
            Run("batchnorm_moving").Int(cols).Float(momentum).Memory(statistics).Buffer(movingMean).Buffer(movingVariance).Run(cols);
            mean = statistics.Slice(0, cols);
            variance = statistics.Slice(cols, cols);
        }
        Run("batchnorm_normalize").Int(cols).Float(epsilon).Buffer(x).Buffer(mean).Buffer(variance).Buffer(gamma).Int(gamma is null ? 0 : 1)
            .Buffer(beta).Int(beta is null ? 0 : 1).Buffer(y).Run(shape.Length);
    }

    /// <inheritdoc />
    protected override void BatchNormBackwardCore(in BatchNormShape shape, float epsilon, DeviceBuffer x, DeviceBuffer? gamma, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer? gammaGrad, DeviceBuffer? betaGrad)
    {
        int rows = shape.Rows, cols = shape.Channels;
        var statistics = BatchStatistics(shape, x);
        var (chunks, perChunk) = Chunks(rows, cols);
        var partials = Scratch(ScratchSlot.Partials, 2L * chunks * cols);
        var sums = Scratch(ScratchSlot.GradientSums, 2L * cols);
        Run("batchnorm_grad_partials").Int(rows).Int(cols).Int(perChunk).Float(epsilon).Buffer(x).Buffer(outputGrad).Memory(statistics).Memory(partials)
            .Run(cols, chunks, 1);
        Run("column_finish").Int(chunks).Int(2 * cols).Float(1f).Memory(partials).Memory(sums).Int(0).Run(2 * cols);
        if (gammaGrad is not null || betaGrad is not null)
        {
            Run("batchnorm_parameter_grads").Int(cols).Memory(sums).Buffer(gammaGrad).Int(gammaGrad is null ? 0 : 1)
                .Buffer(betaGrad).Int(betaGrad is null ? 0 : 1).Run(cols);
        }
        if (inputGrad is not null)
        {
            Run("batchnorm_backward_input").Int(rows).Int(cols).Float(epsilon).Buffer(x).Buffer(outputGrad).Memory(statistics)
                .Buffer(gamma).Int(gamma is null ? 0 : 1).Memory(sums).Buffer(inputGrad).Run(shape.Length);
        }
    }

    /// <inheritdoc />
    protected override void DenseForwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output) =>
        Gemm(new GemmProduct(shape.Batch, shape.Units, shape.Inputs, shape.Inputs, 1, shape.Units, 1, Epilogue: true),
            input, kernel, output, activation, bias, alpha, preActivation);

    /// <inheritdoc />
    protected override void DenseBackwardCore(in DenseShape shape, FusedActivation activation, DeviceBuffer input, DeviceBuffer kernel,
        DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer outputGrad, DeviceBuffer? inputGrad,
        DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad)
    {
        EpilogueBackward(activation, shape.Batch, shape.Units, preActivation, alpha, outputGrad, alphaGrad);
        // dkernel (I, U) = x^T * dz, x read transposed in place.
        Gemm(new GemmProduct(shape.Inputs, shape.Units, shape.Batch, 1, shape.Inputs, shape.Units, 1, Epilogue: false), input, outputGrad, kernelGrad);
        if (biasGrad is not null)
            ColumnSums(shape.Batch, shape.Units, outputGrad, biasGrad);
        if (inputGrad is null)
            return;
        // dx (B, I) = dz * kernel^T.
        var transposed = Scratch(ScratchSlot.TransposedKernel, shape.KernelLength);
        Transpose(shape.Inputs, shape.Units, 1, kernel, transposed);
        Gemm(new GemmProduct(shape.Batch, shape.Inputs, shape.Units, shape.Units, 1, shape.Inputs, 1, Epilogue: false), outputGrad, transposed, inputGrad);
    }

    // out = each of the consecutive rows x cols matrices of in transposed (prelu.cl's transpose, in blocks of 8 x 8).
    private void Transpose(int rows, int cols, int matrices, DeviceBuffer input, DeviceBuffer output) =>
        Run("transpose").Int(rows).Int(cols).Buffer(input).Memory(output).Run(Ceiling(cols, 8), Ceiling(rows, 8), matrices);

    /// <inheritdoc />
    protected override void ActivationForwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer y)
    {
        int sharing = Sharing(activation, out int channels, out var groups);
        int features = activation.PRelu?.FeatureLength ?? x.Length;
        Run("activation_forward").Int(features).Int((int)activation.Kind).Float(activation.Parameter).Int(sharing).Int(channels)
            .Buffer(x).Buffer(alpha).Memory(groups?.Map ?? 0).Buffer(y).Run(x.Length);
    }

    /// <inheritdoc />
    protected override void ActivationBackwardCore(FusedActivation activation, DeviceBuffer x, DeviceBuffer? alpha, DeviceBuffer dy, DeviceBuffer? dx, DeviceBuffer? alphaGrad)
    {
        var grad = dx ?? dy;
        if (dx is not null && !ReferenceEquals(dx, dy))
            CopyCore(dy, dx);
        int features = activation.PRelu?.FeatureLength ?? x.Length;
        EpilogueBackward(activation, x.Length / features, features, x, alpha, grad, alphaGrad);
    }

    /// <inheritdoc />
    protected override void DropoutForwardCore(float rate, ulong seed, ulong step, DeviceBuffer x, DeviceBuffer mask, DeviceBuffer y) =>
        Run("dropout_forward").Float(rate).UInt(DropoutRandom.Base(seed, step)).Float(1f / (1f - rate)).Buffer(x).Buffer(mask).Buffer(y).Run(x.Length);

    /// <inheritdoc />
    protected override void DropoutBackwardCore(DeviceBuffer mask, DeviceBuffer dy, DeviceBuffer dx) =>
        Run("multiply").Buffer(dy).Buffer(mask).Buffer(dx).Run(mask.Length);

    /// <inheritdoc />
    protected override void MergeForwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        CopyCore(inputs[0], output);
        for (int i = 1; i < inputs.Length; i++)
            Run("merge_fold").Int((int)kind).Buffer(inputs[i]).Buffer(output).Run(output.Length);
        if (kind == MergeKind.Average)
            Run("divide").Float(inputs.Length).Buffer(output).Run(output.Length);
    }

    /// <inheritdoc />
    protected override void MergeBackwardCore(MergeKind kind, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output, DeviceBuffer outputGrad,
        ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputGrads[i] is not { } grad)
                continue;
            Run("merge_gradient_start").Int((int)kind).Float(inputs.Length).Buffer(inputs[i]).Buffer(output).Buffer(outputGrad).Buffer(grad).Run(grad.Length);
            if (!Reference.Merge.GradientReadsOthers(kind))
                continue;
            for (int j = 0; j < inputs.Length; j++)
            {
                if (j != i)
                    Run("merge_gradient_fold").Int((int)kind).Int(j < i ? 1 : 0).Buffer(inputs[j]).Buffer(output).Buffer(grad).Run(grad.Length);
            }
        }
    }

    /// <inheritdoc />
    protected override void ConcatenateForwardCore(in ConcatenateShape shape, ReadOnlySpan<DeviceBuffer> inputs, DeviceBuffer output)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            int width = shape.Widths[i];
            Run("copy_columns").Int(width).Buffer(inputs[i]).Int(width).Int(0).Buffer(output).Int(shape.Width).Int(shape.Offset(i)).Run(shape.InputLength(i));
        }
    }

    /// <inheritdoc />
    protected override void ConcatenateBackwardCore(in ConcatenateShape shape, DeviceBuffer outputGrad, ReadOnlySpan<DeviceBuffer?> inputGrads)
    {
        for (int i = 0; i < inputGrads.Length; i++)
        {
            if (inputGrads[i] is not { } grad)
                continue;
            int width = shape.Widths[i];
            Run("copy_columns").Int(width).Buffer(outputGrad).Int(shape.Width).Int(shape.Offset(i)).Buffer(grad).Int(width).Int(0).Run(shape.InputLength(i));
        }
    }

    /// <inheritdoc />
    protected override void AccumulateCore(DeviceBuffer gradient, DeviceBuffer total) =>
        Run("accumulate").Buffer(gradient).Buffer(total).Run(total.Length);

    /// <inheritdoc />
    protected override void LossCore(in LossFunction loss, int batch, int outputs, DeviceBuffer modelOutputs, DeviceBuffer? targets,
        DeviceBuffer predictions, DeviceBuffer? outputsGrad, DeviceBuffer? metrics)
    {
        var rows = Scratch(ScratchSlot.Rows, 4 * batch);
        Run("loss").Int((int)loss.Kind).Float(loss.Delta).Int(batch).Int(outputs).Buffer(modelOutputs).Buffer(targets).Int(targets is null ? 0 : 1)
            .Buffer(predictions).Buffer(outputsGrad).Int(outputsGrad is null ? 0 : 1).Memory(rows).Run(batch);
        if (targets is not null && metrics is not null)
            Run("add_metrics").Int(batch).Memory(rows).Buffer(metrics).Run(1);
    }

    /// <inheritdoc />
    protected override void AdamUpdateCore(in AdamSettings settings, long step, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer m, DeviceBuffer v) =>
        Run("adam").Float(settings.StepSize(step)).Float(settings.Beta1).Float(settings.Beta2).Float(settings.Epsilon)
            .Buffer(param).Buffer(grad).Buffer(m).Buffer(v).Guard(_guard).Run(param.Length);

    /// <inheritdoc />
    protected override void SgdUpdateCore(in SgdSettings settings, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? velocity) =>
        Run("sgd").Float(settings.LearningRate).Float(settings.Momentum).Int(settings.Nesterov ? 1 : 0)
            .Buffer(param).Buffer(grad).Buffer(velocity).Guard(_guard).Run(param.Length);

    /// <inheritdoc />
    protected override void AddRegularizerCore(in Regularizer regularizer, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer metrics, float lossWeight)
    {
        int perChunk = Math.Max(256, Ceiling(param.Length, 256));
        int chunks = Ceiling(param.Length, perChunk);
        var partials = Scratch(ScratchSlot.Partials, 2L * chunks);
        Run("penalty_partials").Int(param.Length).Int(perChunk).Buffer(param).Memory(partials).Run(chunks);
        Run("add_penalty").Int(chunks).Float(regularizer.L1).Float(regularizer.L2).Float(lossWeight).Memory(partials).Buffer(metrics).Run(1);
        Run("penalty_gradient").Float(regularizer.L1).Float(regularizer.L2).Buffer(param).Buffer(grad).Run(param.Length);
    }

    // The running loss sum that holds updates back while it is not finite (GuardUpdates), or null.
    private DeviceBuffer? _guard;

    /// <inheritdoc />
    public override bool GuardsUpdatesOnDevice => true;

    /// <inheritdoc />
    protected override void GuardUpdatesCore(DeviceBuffer? lossSum) => _guard = lossSum;

    /// <inheritdoc />
    protected override void ApplyConstraintCore(Constraint constraint, IReadOnlyList<int> dims, DeviceBuffer param)
    {
        if (constraint.Kind == ConstraintKind.NonNeg)
        {
            Run("non_neg").Buffer(param).Guard(_guard).Run(param.Length);
            return;
        }
        var table = Table(dims, constraint.NormAxes);
        var norms = Scratch(ScratchSlot.Norms, table.Groups);
        Run("group_sums").Int(1).Memory(table.Offsets).Memory(table.Members).Buffer(param).Memory(norms).Int(0).Run(table.Groups);
        Run("scale_to_norm").Int((int)constraint.Kind).Float(constraint.MinValue).Float(constraint.MaxValue).Float(constraint.Rate)
            .Float(Constraint.Epsilon).Memory(table.Map).Memory(norms).Buffer(param).Guard(_guard).Run(param.Length);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_disposed)
            return;
        _disposed = true;
        _cl.Finish(_queue); // the staging arrays must outlive their writes
        try
        {
            WaitForStaging(0);
            WaitForStaging(1);
        }
        catch (ClException)
        {
            // A write that failed has been reported by the call that waited on the queue; nothing to keep.
        }
        ReleaseScratch();
        _dummy.Dispose();
        foreach (var kernel in _kernels.Values)
            _cl.ReleaseKernel(kernel);
        foreach (var program in _programs.Values)
            _cl.ReleaseProgram(program);
        _cl.ReleaseCommandQueue(_queue);
        _cl.ReleaseContext(_context);
        base.Dispose(disposing);
    }
}

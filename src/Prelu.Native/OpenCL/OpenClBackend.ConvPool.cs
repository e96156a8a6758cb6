using Prelu.Kernels;
using Prelu.Reference;

namespace Prelu.Native.OpenCL;

// A convolution and the max pooling after it in one call, by the pooling's winners (conv_pool.cl), where the pooling's
// windows do not overlap; overlapping windows take the two calls (the base class's default).
public sealed unsafe partial class OpenClBackend
{
    // conv_pool.cl's program for a pair of shapes and the activation between them, with the widths its kernels hold their
    // outputs in.
    // KernelGradientItems: the kernel gradient's work-items per filter and chunk of images (runs of kernel rows).
    private sealed record ConvPoolPlan(ProgramKey Program, int FilterVectorWidth, int FilterVectors, int ChannelWidth, int KernelGradientItems,
        int ChannelVectors);

    private readonly Dictionary<(Conv2DShape, Pool2DShape, ActivationKind), ConvPoolPlan> _convPoolPlans = [];

    // Whether each convolution output is in at most one pooling window: the winners' gradients then never meet.
    private static bool PoolsByWinners(in Pool2DShape pool) => pool.StrideY >= pool.PoolHeight && pool.StrideX >= pool.PoolWidth;

    private ConvPoolPlan ConvPool(in Conv2DShape c, in Pool2DShape p, ActivationKind kind)
    {
        if (_convPoolPlans.TryGetValue((c, p, kind), out var plan))
            return plan;
        int widest = Math.Clamp(_preferredVectorWidth, 1, 8);
        int filterWidth = LargestDividing(c.Filters, widest), channelWidth = LargestDividing(c.InChannels, widest);
        int windowPlaces = p.PoolHeight * p.PoolWidth;
        // About 8 vector accumulators a work-item for a 2 x 2 window (16 registers on AVX2), fewer for larger windows.
        int filterVectors = Math.Clamp(16 / Math.Max(1, filterWidth) / Math.Max(1, windowPlaces / 4), 1, c.Filters / filterWidth);
        int rowLength = c.KernelWidth * c.InChannels / channelWidth;
        int rowChunks = Ceiling(rowLength, 12);
        int rowVectors = Ceiling(rowLength, rowChunks);
        int channelVectors = LargestDividing(c.InChannels / channelWidth, 8);
        int kernelRows = rowChunks == 1 && c.KernelHeight * rowVectors <= 12 ? c.KernelHeight : 1;
        bool padded = c.PadTop > 0 || c.PadLeft > 0 || (c.OutHeight - 1) * c.StrideY - c.PadTop + c.KernelHeight > c.Height
            || (c.OutWidth - 1) * c.StrideX - c.PadLeft + c.KernelWidth > c.Width;
        var defines = $"-D H={c.Height} -D W={c.Width} -D C={c.InChannels} -D F={c.Filters} -D KH={c.KernelHeight} -D KW={c.KernelWidth} " +
            $"-D SY={c.StrideY} -D SX={c.StrideX} -D PT={c.PadTop} -D PL={c.PadLeft} -D OH={c.OutHeight} -D OW={c.OutWidth} " +
            $"-D PKH={p.PoolHeight} -D PKW={p.PoolWidth} -D PSY={p.StrideY} -D PSX={p.StrideX} -D PPT={p.PadTop} -D PPL={p.PadLeft} " +
            $"-D PH={p.OutHeight} -D PW={p.OutWidth} -D PADDED={(padded ? 1 : 0)} -D VW={filterWidth} -D NV={filterVectors} -D CW={channelWidth} " +
            $"-D ROW_VECTORS={rowVectors} -D ROW_CHUNKS={rowChunks} -D KY_ROWS={kernelRows} -D CHANNEL_VECTORS={channelVectors} -D KIND={(int)kind}";
        return _convPoolPlans[(c, p, kind)] = new ConvPoolPlan(new ProgramKey("conv_pool.cl", defines), filterWidth, filterVectors, channelWidth,
            rowChunks * (c.KernelHeight / kernelRows), channelVectors);
    }

    // The largest of 8, 4, 2 and 1 that is at most limit and divides value.
    private static int LargestDividing(int value, int limit)
    {
        int width = 1;
        while (width * 2 <= limit && value % (width * 2) == 0)
            width *= 2;
        return width;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Only the outputs some window covers are computed, pooled as they are made; output keeps each pooled element's
    /// winning place (its slot in the window, an int in a float's bits) and preActivation the winner's z, both over the
    /// pooled tensor's length: the workspace of the backward.
    /// </remarks>
    protected override void Conv2DPoolForwardCore(in Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? bias, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooled,
        DropoutAfter? dropout)
    {
        if (!PoolsByWinners(pool))
        {
            base.Conv2DPoolForwardCore(conv, activation, pool, input, kernel, bias, alpha, preActivation, output, pooled, dropout);
            return;
        }
        var plan = ConvPool(conv, pool, activation.Kind);
        int sharing = Sharing(activation, out _, out var groups);
        var z = activation.Kind == ActivationKind.Linear ? null : preActivation;
        var d = dropout ?? default;
        int filterItems = Ceiling(conv.Filters / plan.FilterVectorWidth, plan.FilterVectors);
        Run("conv_pool_forward", plan.Program).Int(conv.Batch).Buffer(input).Buffer(kernel).Buffer(bias).Int(bias is null ? 0 : 1)
            .Float(activation.Parameter).Int(sharing).Buffer(alpha).Memory(groups?.Map ?? 0)
            .Buffer(pooled).Buffer(output).Buffer(z).Int(z is null ? 0 : 1)
            .Int(dropout is null ? 0 : 1).Float(d.Rate).UInt(dropout is null ? 0 : DropoutRandom.Base(d.Seed, d.Step)).Float(1f / (1f - d.Rate))
            .Buffer(d.Mask).Buffer(d.Output)
            .Run(filterItems, (long)pool.OutputLength / pool.Channels, 1, GroupWidth(filterItems), WindowsPerGroup(pool, filterItems));
    }

    // The work-groups of the forward and of the winners' gradients: every filter item of a few of one image's windows (a
    // divisor of its windows, so that any batch's windows fill whole groups), about 64 work-items. The driver's own choice
    // on PoCL was the filter items alone, two to eight work-items a group: a group's dispatch then cost more than its work.
    private int WindowsPerGroup(in Pool2DShape pool, int filterItems)
    {
        int windows = pool.OutHeight * pool.OutWidth, limit = Math.Max(1, Math.Min(64, _maxWorkGroupSize) / filterItems), best = 1;
        for (int d = 1; d <= limit; d++)
            if (windows % d == 0)
                best = d;
        return best;
    }

    // A work-group's first size: all x work-items where the device's groups hold them, else 0 (the driver chooses).
    private int GroupWidth(int x) => x <= _maxWorkGroupSize ? x : 0;

    /// <inheritdoc />
    /// <remarks>
    /// From the winners alone: their dL/dz (into outputGrad's first pooled-length floats), then the bias's and alphas'
    /// sums of those, the kernel gradient over the winners' windows, and the input gradient from each winner's filter
    /// over its window.
    /// </remarks>
    protected override void Conv2DPoolBackwardCore(in Conv2DShape conv, FusedActivation activation, in Pool2DShape pool, DeviceBuffer input,
        DeviceBuffer kernel, DeviceBuffer? alpha, DeviceBuffer? preActivation, DeviceBuffer output, DeviceBuffer pooledGrad, DeviceBuffer outputGrad,
        DeviceBuffer? inputGrad, DeviceBuffer kernelGrad, DeviceBuffer? biasGrad, DeviceBuffer? alphaGrad, DeviceBuffer? dropoutMask)
    {
        if (!PoolsByWinners(pool))
        {
            base.Conv2DPoolBackwardCore(conv, activation, pool, input, kernel, alpha, preActivation, output, pooledGrad, outputGrad, inputGrad,
                kernelGrad, biasGrad, alphaGrad, dropoutMask);
            return;
        }
        var plan = ConvPool(conv, pool, activation.Kind);
        int pooledLength = pool.OutputLength, pooledRows = pooledLength / conv.Filters;
        int sharing = Sharing(activation, out _, out var groups);
        var slots = output.Slice(0, pooledLength);
        var winnerGrads = outputGrad.Slice(0, pooledLength);
        var terms = alphaGrad is not null && activation.PRelu is not null ? Scratch(ScratchSlot.WinnerTerms, pooledLength) : null;
        int filterVectors = conv.Filters / plan.FilterVectorWidth;
        Run("conv_pool_winner_gradients", plan.Program).Float(activation.Parameter).Int(sharing).Buffer(alpha)
            .Memory(groups?.Map ?? 0).Buffer(pooledGrad).Buffer(dropoutMask).Int(dropoutMask is null ? 0 : 1).Buffer(slots)
            .Buffer(activation.Kind == ActivationKind.Linear ? null : preActivation).Buffer(winnerGrads).Memory(terms is null ? 0 : B(terms).Memory)
            .Int(terms is null ? 0 : 1).Run(filterVectors, pooledRows, 1, GroupWidth(filterVectors), WindowsPerGroup(pool, filterVectors));
        if (biasGrad is not null)
            ColumnSums(pooledRows, conv.Filters, winnerGrads, biasGrad);
        if (terms is not null)
            WinnersAlphaGradient(conv, plan, activation.PRelu!, groups, slots, terms, alphaGrad!);
        KernelGradientByWinners(conv, plan, input, slots, winnerGrads, kernelGrad);
        if (inputGrad is null)
            return;
        var transposed = Scratch(ScratchSlot.TransposedKernel, conv.KernelLength);
        Transpose(conv.InChannels, conv.Filters, conv.KernelHeight * conv.KernelWidth, kernel, transposed); // (KH, KW, F, C)
        Run("conv_pool_input_gradient", plan.Program).Memory(transposed).Buffer(slots).Buffer(winnerGrads).Buffer(inputGrad)
            .Int(_baseAlignment >= 4 * plan.ChannelWidth && B(inputGrad).Offset % plan.ChannelWidth == 0 ? 1 : 0) // whole vectors' stores
            .Run(conv.Batch, conv.InChannels / plan.ChannelWidth / plan.ChannelVectors, 1, localX: 1, localY: 1); // few, long work-items: one a group, so that every core gets some
    }

    // The kernel gradient over chunks of images, four work-groups' worth for each compute unit (at most 16M floats of partial
    // sums), each chunk's partial sums added in chunk order. Within a chunk a work-group's filters go through the images
    // together (conv_pool_kernel_gradient's barrier), so that a chunk need not fit a cache: the 256 KB chunks before took 36
    // partial sums of the study's second convolution, 0.6-0.9 ms of adding them on PoCL. An input of odd channels (CW 1: a
    // first layer) takes its filters VW at a time instead (conv_pool_kernel_gradient_by_filters), one scalar at a time before.
    private void KernelGradientByWinners(in Conv2DShape conv, ConvPoolPlan plan, DeviceBuffer input, DeviceBuffer slots, DeviceBuffer winnerGrads,
        DeviceBuffer kernelGrad)
    {
        // By filters where a work-item's sums are few enough to stay in registers (a 3 x 3 kernel over up to three channels).
        bool byFilters = plan.ChannelWidth == 1 && plan.FilterVectorWidth > 1 && conv.KernelHeight * conv.KernelWidth * conv.InChannels <= 32;
        int items = byFilters ? 1 : plan.KernelGradientItems;
        int wantedChunks = Math.Clamp(Ceiling(4 * _computeUnits, items), 1, Math.Max(1, (16 << 20) / conv.KernelLength));
        int imagesPerChunk = Ceiling(conv.Batch, Math.Min(conv.Batch, wantedChunks));
        int chunks = Ceiling(conv.Batch, imagesPerChunk);
        var sums = chunks == 1 ? kernelGrad : Scratch(ScratchSlot.GemmSlices, (long)chunks * conv.KernelLength);
        if (byFilters)
        {
            int filterItems = conv.Filters / plan.FilterVectorWidth;
            Run("conv_pool_kernel_gradient_by_filters", plan.Program).Int(conv.Batch).Int(imagesPerChunk).Buffer(input).Buffer(slots)
                .Buffer(winnerGrads).Buffer(sums).Run(filterItems, chunks, 1, GroupWidth(filterItems), 1);
        }
        else
        {
            Run("conv_pool_kernel_gradient", plan.Program).Int(conv.Batch).Int(imagesPerChunk).Buffer(input).Buffer(slots).Buffer(winnerGrads).Buffer(sums)
                .Run(conv.Filters, items, chunks, GroupWidth(conv.Filters), 1);
        }
        if (chunks > 1)
            Run("sum_slices").Int(chunks).Int(conv.KernelLength).Memory(sums).Buffer(kernelGrad).Run(conv.KernelLength);
    }

    // The alpha gradient from the winners' terms: per element, each feature's terms over the batch; channel-wise and
    // shared, the terms' column sums; over irregular axes, per-feature sums gathered into the groups.
    private void WinnersAlphaGradient(in Conv2DShape conv, ConvPoolPlan plan, PReluShape prelu, IndexTable? groups, DeviceBuffer slots,
        DeviceBuffer terms, DeviceBuffer alphaGrad)
    {
        int features = conv.OutputLength / conv.Batch, featureVectors = slots.Length / conv.Batch / plan.FilterVectorWidth;
        switch (prelu.Sharing)
        {
            case PReluSharing.ChannelWise:
                ColumnSums(terms.Length / conv.Filters, conv.Filters, terms, alphaGrad);
                return;
            case PReluSharing.ChannelShared:
                ColumnSums(terms.Length, 1, terms, alphaGrad);
                return;
            case PReluSharing.PerElement:
                FillCore(alphaGrad, 0f);
                Run("conv_pool_feature_alpha_sums", plan.Program).Int(conv.Batch).Buffer(slots).Memory(terms).Buffer(alphaGrad).Run(featureVectors);
                return;
            default:
                var featureSums = Scratch(ScratchSlot.FeatureSums, features).Slice(0, features);
                FillCore(featureSums, 0f);
                Run("conv_pool_feature_alpha_sums", plan.Program).Int(conv.Batch).Buffer(slots).Memory(terms).Buffer(featureSums).Run(featureVectors);
                Run("group_sums").Int(0).Memory(groups!.Offsets).Memory(groups.Members).Buffer(featureSums).Buffer(alphaGrad).Run(groups.Groups);
                return;
        }
    }
}

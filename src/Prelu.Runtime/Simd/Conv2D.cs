using System.Buffers;
using System.Numerics.Tensors;
using Prelu.Kernels;

namespace Prelu.Simd;

/// <summary>
/// 2-D convolution, NHWC, as GEMMs over an im2col of each image: rows of (KH, KW, Cin) patches, one per
/// output position. Images are split across threads; the kernel gradient is summed per thread's range of
/// images and the ranges added in order.
/// </summary>
internal static class Conv2D
{
    [ThreadStatic]
    private static float[]? t_columns;

    // input (N, H, W, Cin), kernel (KH, KW, Cin, F), bias (F) or empty -> output (N, OH, OW, F)
    public static void Forward(Conv2DShape s, ReadOnlyMemory<float> input, ReadOnlyMemory<float> kernel, ReadOnlyMemory<float> bias,
        Memory<float> output, SimdSettings settings)
    {
        int positions = s.OutHeight * s.OutWidth, patch = PatchLength(s), f = s.Filters;
        Parallelism.ForRanges(s.Batch, settings.Threads, (_, first, last) =>
        {
            for (int n = first; n < last; n++)
            {
                var columns = Columns(s, input.Span.Slice(n * s.Height * s.Width * s.InChannels, s.Height * s.Width * s.InChannels));
                var y = output.Span.Slice(n * positions * f, positions * f);
                if (!bias.IsEmpty)
                {
                    for (int p = 0; p < positions; p++)
                        bias.Span.CopyTo(y.Slice(p * f, f));
                }
                Gemm.Multiply(positions, f, patch, columns, MatrixLayout.RowMajor(patch), kernel.Span, MatrixLayout.RowMajor(f), y, f, accumulate: !bias.IsEmpty, settings.VectorBits);
            }
        });
    }

    // input (N, H, W, Cin), outputGrad (N, OH, OW, F) -> kernelGrad (KH, KW, Cin, F), biasGrad (F) or empty; overwritten
    public static void BackwardWeights(Conv2DShape s, ReadOnlyMemory<float> input, ReadOnlyMemory<float> outputGrad, Memory<float> kernelGrad,
        Memory<float> biasGrad, SimdSettings settings)
    {
        int positions = s.OutHeight * s.OutWidth, patch = PatchLength(s), f = s.Filters;
        int ranges = Parallelism.RangeCount(s.Batch, settings.Threads), length = s.KernelLength + f;
        var partial = ArrayPool<float>.Shared.Rent(ranges * length);
        Parallelism.ForRanges(s.Batch, settings.Threads, (range, first, last) =>
        {
            var kernelSum = partial.AsSpan(range * length, s.KernelLength);
            var biasSum = partial.AsSpan(range * length + s.KernelLength, f);
            partial.AsSpan(range * length, length).Clear(); // pooled: it holds an earlier call's sums
            for (int n = first; n < last; n++)
            {
                var columns = Columns(s, input.Span.Slice(n * s.Height * s.Width * s.InChannels, s.Height * s.Width * s.InChannels));
                var dy = outputGrad.Span.Slice(n * positions * f, positions * f);
                // kernelGrad (patch x F) += columns^T (patch x positions) . dy (positions x F)
                Gemm.Multiply(patch, f, positions, columns, MatrixLayout.Transposed(patch), dy, MatrixLayout.RowMajor(f), kernelSum, f, accumulate: true, settings.VectorBits);
                for (int p = 0; p < positions; p++)
                    TensorPrimitives.Add(biasSum, dy.Slice(p * f, f), biasSum);
            }
        });
        SumRanges(partial, ranges, length, 0, kernelGrad.Span);
        if (!biasGrad.IsEmpty)
            SumRanges(partial, ranges, length, s.KernelLength, biasGrad.Span);
        ArrayPool<float>.Shared.Return(partial);
    }

    // kernel (KH, KW, Cin, F), outputGrad (N, OH, OW, F) -> inputGrad (N, H, W, Cin), overwritten
    public static void BackwardInput(Conv2DShape s, ReadOnlyMemory<float> kernel, ReadOnlyMemory<float> outputGrad, Memory<float> inputGrad, SimdSettings settings)
    {
        int positions = s.OutHeight * s.OutWidth, patch = PatchLength(s), f = s.Filters, image = s.Height * s.Width * s.InChannels;
        Parallelism.ForRanges(s.Batch, settings.Threads, (_, first, last) =>
        {
            var columns = Scratch(positions * patch);
            for (int n = first; n < last; n++)
            {
                // columnGrad (positions x patch) = dy (positions x F) . kernel^T (F x patch), then scattered back onto the image
                Gemm.Multiply(positions, patch, f, outputGrad.Span.Slice(n * positions * f, positions * f), MatrixLayout.RowMajor(f),
                    kernel.Span, MatrixLayout.Transposed(f), columns, patch, accumulate: false, settings.VectorBits);
                AddColumns(s, columns, inputGrad.Span.Slice(n * image, image));
            }
        });
    }

    private static int PatchLength(in Conv2DShape s) => s.KernelHeight * s.KernelWidth * s.InChannels;

    private static Span<float> Scratch(int length)
    {
        if (t_columns is null || t_columns.Length < length)
            t_columns = new float[length];
        return t_columns.AsSpan(0, length);
    }

    private static void SumRanges(float[] partial, int ranges, int stride, int offset, Span<float> total)
    {
        partial.AsSpan(offset, total.Length).CopyTo(total);
        for (int range = 1; range < ranges; range++)
            TensorPrimitives.Add(total, partial.AsSpan(range * stride + offset, total.Length), total);
    }

    // image (H, W, Cin) -> columns (OH * OW, KH * KW * Cin), zeros where the window leaves the image
    private static ReadOnlySpan<float> Columns(in Conv2DShape s, ReadOnlySpan<float> image)
    {
        int patch = PatchLength(s), cin = s.InChannels;
        if (s.KernelHeight == 1 && s.KernelWidth == 1 && s.StrideY == 1 && s.StrideX == 1 && s.PadTop == 0 && s.PadLeft == 0)
            return image; // a 1x1 convolution's columns are the image itself
        var columns = Scratch(s.OutHeight * s.OutWidth * patch);
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var row = columns.Slice((oy * s.OutWidth + ox) * patch, patch);
            for (int ky = 0; ky < s.KernelHeight; ky++)
            {
                int iy = oy * s.StrideY - s.PadTop + ky;
                var segment = row.Slice(ky * s.KernelWidth * cin, s.KernelWidth * cin);
                if ((uint)iy >= (uint)s.Height)
                {
                    segment.Clear();
                    continue;
                }
                for (int kx = 0; kx < s.KernelWidth; kx++)
                {
                    int ix = ox * s.StrideX - s.PadLeft + kx;
                    var target = segment.Slice(kx * cin, cin);
                    if ((uint)ix >= (uint)s.Width)
                        target.Clear();
                    else
                        image.Slice((iy * s.Width + ix) * cin, cin).CopyTo(target);
                }
            }
        }
        return columns;
    }

    // columns (OH * OW, KH * KW * Cin) -> image (H, W, Cin): each patch element added where it came from; overwritten
    private static void AddColumns(in Conv2DShape s, ReadOnlySpan<float> columns, Span<float> image)
    {
        int patch = PatchLength(s), cin = s.InChannels;
        image.Clear();
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var row = columns.Slice((oy * s.OutWidth + ox) * patch, patch);
            for (int ky = 0; ky < s.KernelHeight; ky++)
            {
                int iy = oy * s.StrideY - s.PadTop + ky;
                if ((uint)iy >= (uint)s.Height)
                    continue;
                for (int kx = 0; kx < s.KernelWidth; kx++)
                {
                    int ix = ox * s.StrideX - s.PadLeft + kx;
                    if ((uint)ix >= (uint)s.Width)
                        continue;
                    var target = image.Slice((iy * s.Width + ix) * cin, cin);
                    TensorPrimitives.Add(target, row.Slice((ky * s.KernelWidth + kx) * cin, cin), target);
                }
            }
        }
    }
}

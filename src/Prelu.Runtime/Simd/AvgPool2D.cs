using System.Numerics.Tensors;
using Prelu.Kernels;

namespace Prelu.Simd;

/// <summary>
/// Average pooling, NHWC, the images split across threads and the channels taken as vectors: each window's sum in the
/// reference's order (row by row of the window), divided by its count of positions inside the input; backward, each
/// window's share added to its positions in the reference's order. An image is one thread's, so every element gets
/// the reference's bits.
/// </summary>
internal static class AvgPool2D
{
    // input (N, H, W, C) -> output (N, OH, OW, C)
    public static void Forward(Pool2DShape s, ReadOnlyMemory<float> input, Memory<float> output, int threads)
    {
        int c = s.Channels;
        Parallelism.ForRanges(s.Batch, threads, (_, first, last) =>
        {
            var x = input.Span;
            var y = output.Span;
            for (int n = first; n < last; n++)
            for (int oy = 0; oy < s.OutHeight; oy++)
            for (int ox = 0; ox < s.OutWidth; ox++)
            {
                var (y0, y1, x0, x1) = Reference.AvgPool2D.Window(s, oy, ox);
                var sum = y.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * c, c);
                sum.Clear();
                for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++)
                    TensorPrimitives.Add(sum, x.Slice(((n * s.Height + iy) * s.Width + ix) * c, c), sum);
                TensorPrimitives.Divide(sum, (float)((y1 - y0) * (x1 - x0)), sum);
            }
        });
    }

    // outputGrad (N, OH, OW, C) -> inputGrad (N, H, W, C), overwritten: each window's gradient divided by its count, to each of its positions
    public static void Backward(Pool2DShape s, ReadOnlyMemory<float> outputGrad, Memory<float> inputGrad, int threads)
    {
        int c = s.Channels;
        Parallelism.ForRanges(s.Batch, threads, (_, first, last) =>
        {
            var dy = outputGrad.Span;
            var dx = inputGrad.Span;
            dx.Slice(first * s.Height * s.Width * c, (last - first) * s.Height * s.Width * c).Clear();
            Span<float> share = c <= 1024 ? stackalloc float[c] : new float[c];
            for (int n = first; n < last; n++)
            for (int oy = 0; oy < s.OutHeight; oy++)
            for (int ox = 0; ox < s.OutWidth; ox++)
            {
                var (y0, y1, x0, x1) = Reference.AvgPool2D.Window(s, oy, ox);
                TensorPrimitives.Divide(dy.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * c, c), (float)((y1 - y0) * (x1 - x0)), share);
                for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++)
                {
                    var target = dx.Slice(((n * s.Height + iy) * s.Width + ix) * c, c);
                    TensorPrimitives.Add(target, share, target);
                }
            }
        });
    }
}

using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Simd;

/// <summary>
/// Max pooling, NHWC, with the channels innermost as vectors. Backward finds each window's winner again
/// from the input, as the reference does: the first position (row-major) holding the maximum.
/// </summary>
internal static class MaxPool2D
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
                var best = y.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * c, c);
                bool started = false;
                foreach (int at in Window(s, n, oy, ox))
                {
                    var candidate = x.Slice(at, c);
                    if (!started)
                    {
                        candidate.CopyTo(best);
                        started = true;
                        continue;
                    }
                    int k = 0;
                    for (; k <= c - Vector<float>.Count; k += Vector<float>.Count)
                    {
                        var v = new Vector<float>(candidate[k..]);
                        var b = new Vector<float>(best[k..]);
                        Vector.ConditionalSelect(Vector.GreaterThan(v, b), v, b).CopyTo(best[k..]);
                    }
                    for (; k < c; k++)
                    {
                        if (candidate[k] > best[k])
                            best[k] = candidate[k];
                    }
                }
            }
        });
    }

    // input (N, H, W, C), outputGrad (N, OH, OW, C) -> inputGrad (N, H, W, C), overwritten
    public static void Backward(Pool2DShape s, ReadOnlyMemory<float> input, ReadOnlyMemory<float> outputGrad, Memory<float> inputGrad, int threads)
    {
        int c = s.Channels, image = s.Height * s.Width * c;
        Parallelism.ForRanges(s.Batch, threads, (_, first, last) =>
        {
            var x = input.Span;
            var dx = inputGrad.Span;
            dx.Slice(first * image, (last - first) * image).Clear();
            int width = Vector<float>.Count;
            for (int n = first; n < last; n++)
            for (int oy = 0; oy < s.OutHeight; oy++)
            for (int ox = 0; ox < s.OutWidth; ox++)
            {
                var dy = outputGrad.Span.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * c, c);
                int k = 0;
                for (; k <= c - width; k += width)
                {
                    var best = new Vector<float>(float.NegativeInfinity);
                    foreach (int at in Window(s, n, oy, ox))
                        best = Vector.Max(best, new Vector<float>(x[(at + k)..]));
                    // The first position holding the maximum takes the gradient; later ties do not.
                    var taken = Vector<int>.Zero;
                    var g = new Vector<float>(dy[k..]);
                    foreach (int at in Window(s, n, oy, ox))
                    {
                        var wins = Vector.AndNot(Vector.Equals(new Vector<float>(x[(at + k)..]), best), taken);
                        (new Vector<float>(dx[(at + k)..]) + Vector.ConditionalSelect(wins, g, Vector<float>.Zero)).CopyTo(dx[(at + k)..]);
                        taken |= wins;
                    }
                }
                for (; k < c; k++)
                {
                    float best = float.NegativeInfinity;
                    foreach (int at in Window(s, n, oy, ox))
                        best = Math.Max(best, x[at + k]);
                    foreach (int at in Window(s, n, oy, ox))
                    {
                        if (x[at + k] == best)
                        {
                            dx[at + k] += dy[k];
                            break;
                        }
                    }
                }
            }
        });
    }

    // The flat input offsets of the window's positions inside the image, row-major; padded positions are skipped.
    private static WindowEnumerable Window(in Pool2DShape s, int n, int oy, int ox) => new(s, n, oy, ox);

    private readonly struct WindowEnumerable(Pool2DShape s, int n, int oy, int ox)
    {
        public WindowEnumerator GetEnumerator() => new(s, n, oy, ox);
    }

    private struct WindowEnumerator(Pool2DShape s, int n, int oy, int ox)
    {
        private int _index = -1;

        public int Current { get; private set; }

        public bool MoveNext()
        {
            while (++_index < s.PoolHeight * s.PoolWidth)
            {
                int iy = oy * s.StrideY - s.PadTop + _index / s.PoolWidth;
                int ix = ox * s.StrideX - s.PadLeft + _index % s.PoolWidth;
                if ((uint)iy < (uint)s.Height && (uint)ix < (uint)s.Width)
                {
                    Current = ((n * s.Height + iy) * s.Width + ix) * s.Channels;
                    return true;
                }
            }
            return false;
        }
    }
}

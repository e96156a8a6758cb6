using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>
/// Keras's merge layers (Add, Multiply, Average, Maximum) on tensors of one shape, element by element, and the sum of
/// a tensor's gradients where several layers read it. An n-ary merge is a fold over its inputs in their order,
/// written here as steps so that every backend does the same operations in the same order (the same bits):
/// forward is <see cref="Start"/>, then <see cref="Fold"/> for each later input, then <see cref="Finish"/>; input i's
/// gradient is <see cref="GradientStart"/>, then <see cref="GradientFold"/> for every other input in order.
/// </summary>
internal static class Merge
{
    // x0 (L) -> y (L) = x0
    public static void Start<T>(ReadOnlySpan<T> first, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("merge forward", (nameof(y), y.Length, first.Length));
        first.CopyTo(y);
    }

    // x (L), y (L) -> y = y + x (Add, Average), y * x (Multiply), x > y ? x : y (Maximum: a tie keeps the earlier input)
    public static void Fold<T>(MergeKind kind, ReadOnlySpan<T> x, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("merge forward", (nameof(x), x.Length, y.Length));
        for (int e = 0; e < y.Length; e++)
        {
            y[e] = kind switch
            {
                MergeKind.Multiply => y[e] * x[e],
                MergeKind.Maximum => x[e] > y[e] ? x[e] : y[e],
                _ => y[e] + x[e],
            };
        }
    }

    // y (L) -> y / count for Average; the others are done
    public static void Finish<T>(MergeKind kind, int count, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        if (kind != MergeKind.Average)
            return;
        T n = T.CreateChecked(count);
        for (int e = 0; e < y.Length; e++)
            y[e] /= n;
    }

    // Input i's gradient begins: dy (Add, Multiply), dy / count (Average), x_i == y ? dy : 0 (Maximum)
    public static void GradientStart<T>(MergeKind kind, int count, ReadOnlySpan<T> xi, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dxi)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("merge backward", (nameof(xi), xi.Length, dy.Length), (nameof(y), y.Length, dy.Length), (nameof(dxi), dxi.Length, dy.Length));
        T n = T.CreateChecked(count);
        for (int e = 0; e < dy.Length; e++)
        {
            dxi[e] = kind switch
            {
                MergeKind.Average => dy[e] / n,
                MergeKind.Maximum => xi[e] == y[e] ? dy[e] : T.Zero,
                _ => dy[e],
            };
        }
    }

    // Another input j's part of input i's gradient, j in order: Multiply multiplies by x_j; Maximum gives the element
    // up where an earlier input (j < i) holds the maximum too, since the first one takes it
    public static void GradientFold<T>(MergeKind kind, bool earlier, ReadOnlySpan<T> xj, ReadOnlySpan<T> y, Span<T> dxi)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("merge backward", (nameof(xj), xj.Length, dxi.Length), (nameof(y), y.Length, dxi.Length));
        if (kind == MergeKind.Multiply)
        {
            for (int e = 0; e < dxi.Length; e++)
                dxi[e] *= xj[e];
        }
        else if (kind == MergeKind.Maximum && earlier)
        {
            for (int e = 0; e < dxi.Length; e++)
            {
                if (xj[e] == y[e])
                    dxi[e] = T.Zero;
            }
        }
    }

    /// <summary>Whether input i's gradient needs the other inputs at all.</summary>
    public static bool GradientReadsOthers(MergeKind kind) => kind is MergeKind.Multiply or MergeKind.Maximum;

    // total (L) += gradient (L)
    public static void Accumulate<T>(ReadOnlySpan<T> gradient, Span<T> total)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("gradient sum", (nameof(total), total.Length, gradient.Length));
        for (int e = 0; e < total.Length; e++)
            total[e] += gradient[e];
    }
}

/// <summary>Keras's Concatenate: each input's rows (Rows, Width_i) placed side by side in the output's rows (Rows, Width).</summary>
internal static class Concatenate
{
    // x (Rows, width) -> columns [offset, offset + width) of y (Rows, total)
    public static void Forward<T>(int rows, int width, int offset, int total, ReadOnlySpan<T> x, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Concatenate forward", (nameof(x), x.Length, rows * width), (nameof(y), y.Length, rows * total));
        for (int r = 0; r < rows; r++)
            x.Slice(r * width, width).CopyTo(y.Slice(r * total + offset, width));
    }

    // columns [offset, offset + width) of dy (Rows, total) -> dx (Rows, width)
    public static void Backward<T>(int rows, int width, int offset, int total, ReadOnlySpan<T> dy, Span<T> dx)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Concatenate backward", (nameof(dx), dx.Length, rows * width), (nameof(dy), dy.Length, rows * total));
        for (int r = 0; r < rows; r++)
            dy.Slice(r * total + offset, width).CopyTo(dx.Slice(r * width, width));
    }
}

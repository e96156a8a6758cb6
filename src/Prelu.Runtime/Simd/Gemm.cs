using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Prelu.Simd;

/// <summary>Where element (i, j) of a matrix lies in a flat span: at i * RowStride + j * ColumnStride.</summary>
internal readonly record struct MatrixLayout(int RowStride, int ColumnStride)
{
    /// <summary>A row-major matrix with <paramref name="columns"/> columns.</summary>
    public static MatrixLayout RowMajor(int columns) => new(columns, 1);

    /// <summary>The transpose of a row-major matrix stored with <paramref name="storedColumns"/> columns, read in place.</summary>
    public static MatrixLayout Transposed(int storedColumns) => new(1, storedColumns);
}

/// <summary>
/// C (M x N, row stride ldc) = [C +] A (M x K) . B (K x N), single-threaded (callers split the work).
/// The usual structure of a fast GEMM: K in blocks that keep the packed operands in cache; B packed once per
/// block into panels of 2 vectors' width, A packed per 6 rows, so that the micro-kernel streams contiguous
/// memory whatever the operands' layouts (the transposed products of backward read them in place through
/// <see cref="MatrixLayout"/>). The micro-kernel keeps a 6 x (2 vectors) block of C in 12 registers: per
/// step, 2 loads of B, 6 broadcasts of A and 12 FMAs. Edges are zero-padded in the packed panels and
/// written back through a tile, so every shape runs the same vector code.
/// </summary>
internal static class Gemm
{
    private const int Rows = 6;
    private const int DepthBlock = 256;

    [ThreadStatic]
    private static float[]? t_packedA;

    [ThreadStatic]
    private static float[]? t_packedB;

    /// <summary>The widest vector, in bits, that this CPU accelerates and <see cref="Multiply"/> can use.</summary>
    public static int WidestVectorBits => Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;

    /// <summary>C (m x n, row stride <paramref name="ldc"/>) = A (m x k) B (k x n), or C += A B with <paramref name="accumulate"/>.</summary>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="k">Columns of A, rows of B.</param>
    /// <param name="a">A's elements, as <paramref name="aLayout"/> stores them.</param>
    /// <param name="aLayout">How A is stored: row-major, or transposed.</param>
    /// <param name="b">B's elements, as <paramref name="bLayout"/> stores them.</param>
    /// <param name="bLayout">How B is stored: row-major, or transposed.</param>
    /// <param name="c">C, row-major.</param>
    /// <param name="ldc">The distance between C's rows, in floats.</param>
    /// <param name="accumulate">Add the product to C instead of overwriting it.</param>
    /// <param name="vectorBits">The micro-kernel's vector width: 512, 256 or 128 (at most <see cref="WidestVectorBits"/>).</param>
    public static void Multiply(int m, int n, int k, ReadOnlySpan<float> a, MatrixLayout aLayout, ReadOnlySpan<float> b, MatrixLayout bLayout,
        Span<float> c, int ldc, bool accumulate, int vectorBits)
    {
        if (m == 0 || n == 0)
            return;
        if (k == 0)
        {
            if (!accumulate)
            {
                for (int i = 0; i < m; i++)
                    c.Slice(i * ldc, n).Clear();
            }
            return;
        }
        if (vectorBits == 512)
            Multiply<Lanes512>(m, n, k, a, aLayout, b, bLayout, c, ldc, accumulate);
        else if (vectorBits == 256)
            Multiply<Lanes256>(m, n, k, a, aLayout, b, bLayout, c, ldc, accumulate);
        else
            Multiply<Lanes128>(m, n, k, a, aLayout, b, bLayout, c, ldc, accumulate);
    }

    private static void Multiply<TL>(int m, int n, int k, ReadOnlySpan<float> a, MatrixLayout aLayout, ReadOnlySpan<float> b, MatrixLayout bLayout,
        Span<float> c, int ldc, bool accumulate)
        where TL : struct, ILanes<TL>
    {
        int width = 2 * TL.Count;
        int panels = (n + width - 1) / width;
        Span<float> tile = stackalloc float[Rows * 2 * 16];
        for (int p0 = 0; p0 < k; p0 += DepthBlock)
        {
            int depth = Math.Min(DepthBlock, k - p0);
            bool add = accumulate || p0 > 0;
            var packedB = Grow(ref t_packedB, panels * depth * width);
            PackB(b, bLayout, p0, depth, n, width, packedB);
            var packedA = Grow(ref t_packedA, depth * Rows);
            for (int i0 = 0; i0 < m; i0 += Rows)
            {
                int rows = Math.Min(Rows, m - i0);
                PackA(a, aLayout, i0, rows, p0, depth, packedA);
                for (int panel = 0; panel < panels; panel++)
                {
                    int j0 = panel * width;
                    MicroKernel<TL>(packedA, packedB.Slice(panel * depth * width, depth * width), depth,
                        c.Slice(i0 * ldc + j0), ldc, rows, Math.Min(width, n - j0), add, tile);
                }
            }
        }
    }

    private static Span<float> Grow(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new float[Math.Max(length, (buffer?.Length ?? 0) * 2)];
        return buffer.AsSpan(0, length);
    }

    // packed[kk * Rows + r] = A(i0 + r, p0 + kk), zero past the last row.
    private static void PackA(ReadOnlySpan<float> a, MatrixLayout layout, int i0, int rows, int p0, int depth, Span<float> packed)
    {
        for (int r = 0; r < Rows; r++)
        {
            if (r >= rows)
            {
                for (int kk = 0; kk < depth; kk++)
                    packed[kk * Rows + r] = 0f;
                continue;
            }
            int start = (i0 + r) * layout.RowStride + p0 * layout.ColumnStride;
            for (int kk = 0; kk < depth; kk++)
                packed[kk * Rows + r] = a[start + kk * layout.ColumnStride];
        }
    }

    // Panel p: packed[(p * depth + kk) * width + jj] = B(p0 + kk, p * width + jj), zero past the last column.
    private static void PackB(ReadOnlySpan<float> b, MatrixLayout layout, int p0, int depth, int n, int width, Span<float> packed)
    {
        int panels = (n + width - 1) / width;
        for (int panel = 0; panel < panels; panel++)
        {
            int j0 = panel * width, cols = Math.Min(width, n - j0);
            var target = packed.Slice(panel * depth * width, depth * width);
            if (layout.ColumnStride == 1)
            {
                for (int kk = 0; kk < depth; kk++)
                {
                    var row = target.Slice(kk * width, width);
                    b.Slice((p0 + kk) * layout.RowStride + j0, cols).CopyTo(row);
                    row[cols..].Clear();
                }
                continue;
            }
            if (cols < width)
                target.Clear();
            for (int jj = 0; jj < cols; jj++)
            {
                int start = p0 * layout.RowStride + (j0 + jj) * layout.ColumnStride;
                for (int kk = 0; kk < depth; kk++)
                    target[kk * width + jj] = b[start + kk * layout.RowStride];
            }
        }
    }

    private static void MicroKernel<TL>(ReadOnlySpan<float> packedA, ReadOnlySpan<float> packedB, int depth, Span<float> c, int ldc,
        int rows, int cols, bool add, Span<float> tile)
        where TL : struct, ILanes<TL>
    {
        int w = TL.Count;
        ref float a = ref MemoryMarshal.GetReference(packedA);
        ref float b = ref MemoryMarshal.GetReference(packedB);
        TL c00 = TL.Zero, c01 = TL.Zero, c10 = TL.Zero, c11 = TL.Zero, c20 = TL.Zero, c21 = TL.Zero;
        TL c30 = TL.Zero, c31 = TL.Zero, c40 = TL.Zero, c41 = TL.Zero, c50 = TL.Zero, c51 = TL.Zero;
        for (int p = 0; p < depth; p++)
        {
            TL b0 = TL.Load(ref b), b1 = TL.Load(ref Unsafe.Add(ref b, w));
            TL x = TL.Broadcast(a);
            c00 = TL.MultiplyAdd(x, b0, c00);
            c01 = TL.MultiplyAdd(x, b1, c01);
            x = TL.Broadcast(Unsafe.Add(ref a, 1));
            c10 = TL.MultiplyAdd(x, b0, c10);
            c11 = TL.MultiplyAdd(x, b1, c11);
            x = TL.Broadcast(Unsafe.Add(ref a, 2));
            c20 = TL.MultiplyAdd(x, b0, c20);
            c21 = TL.MultiplyAdd(x, b1, c21);
            x = TL.Broadcast(Unsafe.Add(ref a, 3));
            c30 = TL.MultiplyAdd(x, b0, c30);
            c31 = TL.MultiplyAdd(x, b1, c31);
            x = TL.Broadcast(Unsafe.Add(ref a, 4));
            c40 = TL.MultiplyAdd(x, b0, c40);
            c41 = TL.MultiplyAdd(x, b1, c41);
            x = TL.Broadcast(Unsafe.Add(ref a, 5));
            c50 = TL.MultiplyAdd(x, b0, c50);
            c51 = TL.MultiplyAdd(x, b1, c51);
            a = ref Unsafe.Add(ref a, Rows);
            b = ref Unsafe.Add(ref b, 2 * w);
        }
        if (rows == Rows && cols == 2 * w)
        {
            ref float row = ref MemoryMarshal.GetReference(c);
            Write(c00, c01, ref row, w, add);
            Write(c10, c11, ref Unsafe.Add(ref row, ldc), w, add);
            Write(c20, c21, ref Unsafe.Add(ref row, 2 * ldc), w, add);
            Write(c30, c31, ref Unsafe.Add(ref row, 3 * ldc), w, add);
            Write(c40, c41, ref Unsafe.Add(ref row, 4 * ldc), w, add);
            Write(c50, c51, ref Unsafe.Add(ref row, 5 * ldc), w, add);
            return;
        }
        // An edge block: through the tile, then only the rows and columns that exist.
        int stride = 2 * w;
        ref float t = ref MemoryMarshal.GetReference(tile);
        Write(c00, c01, ref t, w, false);
        Write(c10, c11, ref Unsafe.Add(ref t, stride), w, false);
        Write(c20, c21, ref Unsafe.Add(ref t, 2 * stride), w, false);
        Write(c30, c31, ref Unsafe.Add(ref t, 3 * stride), w, false);
        Write(c40, c41, ref Unsafe.Add(ref t, 4 * stride), w, false);
        Write(c50, c51, ref Unsafe.Add(ref t, 5 * stride), w, false);
        for (int r = 0; r < rows; r++)
        {
            var source = tile.Slice(r * stride, cols);
            var target = c.Slice(r * ldc, cols);
            if (add)
            {
                for (int j = 0; j < cols; j++)
                    target[j] += source[j];
            }
            else
            {
                source.CopyTo(target);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write<TL>(TL left, TL right, ref float row, int w, bool add)
        where TL : struct, ILanes<TL>
    {
        ref float second = ref Unsafe.Add(ref row, w);
        if (add)
        {
            left = TL.Add(left, TL.Load(ref row));
            right = TL.Add(right, TL.Load(ref second));
        }
        TL.Store(left, ref row);
        TL.Store(right, ref second);
    }
}

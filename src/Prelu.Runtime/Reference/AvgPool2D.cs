using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>
/// Average pooling, NHWC: each window's mean over its positions inside the input. With 'same' padding the
/// padded positions are left out of the count (TensorFlow's rule, and so Keras's). Global average pooling
/// is the window of the whole map.
/// </summary>
internal static class AvgPool2D
{
    // input (N, H, W, C) -> output (N, OH, OW, C)
    public static void Forward<T>(in Pool2DShape s, ReadOnlySpan<T> input, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("AveragePooling2D forward", (nameof(input), input.Length, s.InputLength), (nameof(output), output.Length, s.OutputLength));
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var (y0, y1, x0, x1) = Window(s, oy, ox);
            T count = T.CreateTruncating((y1 - y0) * (x1 - x0));
            for (int c = 0; c < s.Channels; c++)
            {
                T sum = T.Zero;
                for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++)
                    sum += input[((n * s.Height + iy) * s.Width + ix) * s.Channels + c];
                output[((n * s.OutHeight + oy) * s.OutWidth + ox) * s.Channels + c] = sum / count;
            }
        }
    }

    // outputGrad (N, OH, OW, C) -> inputGrad (N, H, W, C), overwritten: each window's gradient divided by its count, to each of its positions
    public static void Backward<T>(in Pool2DShape s, ReadOnlySpan<T> outputGrad, Span<T> inputGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("AveragePooling2D backward", (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(inputGrad), inputGrad.Length, s.InputLength));
        inputGrad.Clear();
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var (y0, y1, x0, x1) = Window(s, oy, ox);
            T count = T.CreateTruncating((y1 - y0) * (x1 - x0));
            for (int c = 0; c < s.Channels; c++)
            {
                T share = outputGrad[((n * s.OutHeight + oy) * s.OutWidth + ox) * s.Channels + c] / count;
                for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++)
                    inputGrad[((n * s.Height + iy) * s.Width + ix) * s.Channels + c] += share;
            }
        }
    }

    /// <summary>The rows [Y0, Y1) and columns [X0, X1) of output (oy, ox)'s window that lie inside the input.</summary>
    internal static (int Y0, int Y1, int X0, int X1) Window(in Pool2DShape s, int oy, int ox)
    {
        int y0 = oy * s.StrideY - s.PadTop, x0 = ox * s.StrideX - s.PadLeft;
        return (Math.Max(y0, 0), Math.Min(y0 + s.PoolHeight, s.Height), Math.Max(x0, 0), Math.Min(x0 + s.PoolWidth, s.Width));
    }
}

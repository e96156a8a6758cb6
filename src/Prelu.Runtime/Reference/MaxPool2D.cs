using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>Max pooling, NHWC. Padded positions ('same') never win. Ties go to the first position in the window (row-major).</summary>
internal static class MaxPool2D
{
    // input (N, H, W, C) -> output (N, OH, OW, C)
    public static void Forward<T>(in Pool2DShape s, ReadOnlySpan<T> input, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("MaxPooling2D forward", (nameof(input), input.Length, s.InputLength), (nameof(output), output.Length, s.OutputLength));
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        for (int c = 0; c < s.Channels; c++)
        {
            int best = ArgMax(s, input, n, oy, ox, c);
            output[((n * s.OutHeight + oy) * s.OutWidth + ox) * s.Channels + c] = input[best];
        }
    }

    // input (N, H, W, C), outputGrad (N, OH, OW, C) -> inputGrad (N, H, W, C), overwritten; each output's
    // gradient goes to the input that won its window (found again from the input).
    public static void Backward<T>(in Pool2DShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> outputGrad, Span<T> inputGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("MaxPooling2D backward", (nameof(input), input.Length, s.InputLength),
            (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(inputGrad), inputGrad.Length, s.InputLength));
        inputGrad.Clear();
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        for (int c = 0; c < s.Channels; c++)
            inputGrad[ArgMax(s, input, n, oy, ox, c)] += outputGrad[((n * s.OutHeight + oy) * s.OutWidth + ox) * s.Channels + c];
    }

    private static int ArgMax<T>(in Pool2DShape s, ReadOnlySpan<T> input, int n, int oy, int ox, int c)
        where T : IFloatingPointIeee754<T>
    {
        int best = -1;
        for (int py = 0; py < s.PoolHeight; py++)
        {
            int iy = oy * s.StrideY - s.PadTop + py;
            if ((uint)iy >= (uint)s.Height)
                continue;
            for (int px = 0; px < s.PoolWidth; px++)
            {
                int ix = ox * s.StrideX - s.PadLeft + px;
                if ((uint)ix >= (uint)s.Width)
                    continue;
                int index = ((n * s.Height + iy) * s.Width + ix) * s.Channels + c;
                if (best < 0 || input[index] > input[best])
                    best = index;
            }
        }
        return best;
    }
}

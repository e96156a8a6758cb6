using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>
/// 2-D convolution, NHWC, the reference: plain loops, generic over float and double so that gradient
/// checks run the very same code in float64. Keras's layouts: kernel (KH, KW, Cin, Cout), bias (Cout).
/// </summary>
internal static class Conv2D
{
    // input (N, H, W, Cin), kernel (KH, KW, Cin, F), bias (F) or empty, output (N, OH, OW, F)
    public static void Forward<T>(in Conv2DShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> kernel, ReadOnlySpan<T> bias, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Conv2D forward", (nameof(input), input.Length, s.InputLength), (nameof(kernel), kernel.Length, s.KernelLength),
            (nameof(output), output.Length, s.OutputLength));
        Check.OptionalLength("Conv2D forward", nameof(bias), bias.Length, s.BiasLength);
        int f = s.Filters;
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var y = output.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * f, f);
            if (bias.IsEmpty)
                y.Clear();
            else
                bias.CopyTo(y);
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
                    var x = input.Slice(((n * s.Height + iy) * s.Width + ix) * s.InChannels, s.InChannels);
                    for (int c = 0; c < s.InChannels; c++)
                    {
                        var w = kernel.Slice(((ky * s.KernelWidth + kx) * s.InChannels + c) * f, f);
                        T xc = x[c];
                        for (int k = 0; k < f; k++)
                            y[k] += xc * w[k];
                    }
                }
            }
        }
    }

    // kernel (KH, KW, Cin, F), outputGrad (N, OH, OW, F) -> inputGrad (N, H, W, Cin), overwritten
    public static void BackwardInput<T>(in Conv2DShape s, ReadOnlySpan<T> kernel, ReadOnlySpan<T> outputGrad, Span<T> inputGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Conv2D backward (input)", (nameof(kernel), kernel.Length, s.KernelLength),
            (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(inputGrad), inputGrad.Length, s.InputLength));
        int f = s.Filters;
        inputGrad.Clear();
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var dy = outputGrad.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * f, f);
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
                    var dx = inputGrad.Slice(((n * s.Height + iy) * s.Width + ix) * s.InChannels, s.InChannels);
                    for (int c = 0; c < s.InChannels; c++)
                    {
                        var w = kernel.Slice(((ky * s.KernelWidth + kx) * s.InChannels + c) * f, f);
                        T sum = T.Zero;
                        for (int k = 0; k < f; k++)
                            sum += dy[k] * w[k];
                        dx[c] += sum;
                    }
                }
            }
        }
    }

    // input (N, H, W, Cin), outputGrad (N, OH, OW, F) -> kernelGrad (KH, KW, Cin, F), biasGrad (F) or empty; overwritten
    public static void BackwardWeights<T>(in Conv2DShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> outputGrad, Span<T> kernelGrad, Span<T> biasGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Conv2D backward (weights)", (nameof(input), input.Length, s.InputLength),
            (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(kernelGrad), kernelGrad.Length, s.KernelLength));
        Check.OptionalLength("Conv2D backward (weights)", nameof(biasGrad), biasGrad.Length, s.BiasLength);
        int f = s.Filters;
        kernelGrad.Clear();
        biasGrad.Clear();
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var dy = outputGrad.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * f, f);
            if (!biasGrad.IsEmpty)
            {
                for (int k = 0; k < f; k++)
                    biasGrad[k] += dy[k];
            }
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
                    var x = input.Slice(((n * s.Height + iy) * s.Width + ix) * s.InChannels, s.InChannels);
                    for (int c = 0; c < s.InChannels; c++)
                    {
                        var dw = kernelGrad.Slice(((ky * s.KernelWidth + kx) * s.InChannels + c) * f, f);
                        T xc = x[c];
                        for (int k = 0; k < f; k++)
                            dw[k] += xc * dy[k];
                    }
                }
            }
        }
    }
}

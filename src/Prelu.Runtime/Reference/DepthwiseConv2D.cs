using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>
/// Depthwise 2-D convolution, NHWC, the reference: every input channel convolved with its own Multiplier kernels.
/// Keras's layouts: kernel (KH, KW, C, M), bias (C x M); output channel c x M + m reads input channel c only.
/// Forward and backward side by side, plain loops, generic over float and double.
/// </summary>
internal static class DepthwiseConv2D
{
    // input (N, H, W, C), kernel (KH, KW, C, M), bias (C M) or empty -> output (N, OH, OW, C M)
    public static void Forward<T>(in DepthwiseConv2DShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> kernel, ReadOnlySpan<T> bias, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("DepthwiseConv2D forward", (nameof(input), input.Length, s.InputLength), (nameof(kernel), kernel.Length, s.KernelLength),
            (nameof(output), output.Length, s.OutputLength));
        Check.OptionalLength("DepthwiseConv2D forward", nameof(bias), bias.Length, s.BiasLength);
        int oc = s.OutChannels, m = s.Multiplier;
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var y = output.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * oc, oc);
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
                    var x = input.Slice(((n * s.Height + iy) * s.Width + ix) * s.Channels, s.Channels);
                    var w = kernel.Slice((ky * s.KernelWidth + kx) * oc, oc);
                    for (int o = 0; o < oc; o++)
                        y[o] += x[o / m] * w[o];
                }
            }
        }
    }

    // kernel (KH, KW, C, M), outputGrad (N, OH, OW, C M) -> inputGrad (N, H, W, C), overwritten
    public static void BackwardInput<T>(in DepthwiseConv2DShape s, ReadOnlySpan<T> kernel, ReadOnlySpan<T> outputGrad, Span<T> inputGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("DepthwiseConv2D backward (input)", (nameof(kernel), kernel.Length, s.KernelLength),
            (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(inputGrad), inputGrad.Length, s.InputLength));
        int oc = s.OutChannels, m = s.Multiplier;
        inputGrad.Clear();
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var dy = outputGrad.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * oc, oc);
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
                    var dx = inputGrad.Slice(((n * s.Height + iy) * s.Width + ix) * s.Channels, s.Channels);
                    var w = kernel.Slice((ky * s.KernelWidth + kx) * oc, oc);
                    for (int o = 0; o < oc; o++)
                        dx[o / m] += dy[o] * w[o];
                }
            }
        }
    }

    // input (N, H, W, C), outputGrad (N, OH, OW, C M) -> kernelGrad (KH, KW, C, M), biasGrad (C M) or empty; overwritten
    public static void BackwardWeights<T>(in DepthwiseConv2DShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> outputGrad, Span<T> kernelGrad, Span<T> biasGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("DepthwiseConv2D backward (weights)", (nameof(input), input.Length, s.InputLength),
            (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(kernelGrad), kernelGrad.Length, s.KernelLength));
        Check.OptionalLength("DepthwiseConv2D backward (weights)", nameof(biasGrad), biasGrad.Length, s.BiasLength);
        int oc = s.OutChannels, m = s.Multiplier;
        kernelGrad.Clear();
        biasGrad.Clear();
        for (int n = 0; n < s.Batch; n++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            var dy = outputGrad.Slice(((n * s.OutHeight + oy) * s.OutWidth + ox) * oc, oc);
            if (!biasGrad.IsEmpty)
            {
                for (int o = 0; o < oc; o++)
                    biasGrad[o] += dy[o];
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
                    var x = input.Slice(((n * s.Height + iy) * s.Width + ix) * s.Channels, s.Channels);
                    var dw = kernelGrad.Slice((ky * s.KernelWidth + kx) * oc, oc);
                    for (int o = 0; o < oc; o++)
                        dw[o] += x[o / m] * dy[o];
                }
            }
        }
    }
}

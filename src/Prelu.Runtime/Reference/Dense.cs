using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>A dense layer with Keras's layout: kernel (Inputs, Units), bias (Units).</summary>
internal static class Dense
{
    // input (B, I), kernel (I, U), bias (U) or empty -> output (B, U)
    public static void Forward<T>(in DenseShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> kernel, ReadOnlySpan<T> bias, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Dense forward", (nameof(input), input.Length, s.InputLength), (nameof(kernel), kernel.Length, s.KernelLength),
            (nameof(output), output.Length, s.OutputLength));
        Check.OptionalLength("Dense forward", nameof(bias), bias.Length, s.BiasLength);
        for (int b = 0; b < s.Batch; b++)
        {
            var y = output.Slice(b * s.Units, s.Units);
            if (bias.IsEmpty)
                y.Clear();
            else
                bias.CopyTo(y);
            for (int i = 0; i < s.Inputs; i++)
            {
                T x = input[b * s.Inputs + i];
                var w = kernel.Slice(i * s.Units, s.Units);
                for (int u = 0; u < s.Units; u++)
                    y[u] += x * w[u];
            }
        }
    }

    // kernel (I, U), outputGrad (B, U) -> inputGrad (B, I) = outputGrad . kernel^T, overwritten
    public static void BackwardInput<T>(in DenseShape s, ReadOnlySpan<T> kernel, ReadOnlySpan<T> outputGrad, Span<T> inputGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Dense backward (input)", (nameof(kernel), kernel.Length, s.KernelLength),
            (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(inputGrad), inputGrad.Length, s.InputLength));
        for (int b = 0; b < s.Batch; b++)
        {
            var dy = outputGrad.Slice(b * s.Units, s.Units);
            for (int i = 0; i < s.Inputs; i++)
            {
                var w = kernel.Slice(i * s.Units, s.Units);
                T sum = T.Zero;
                for (int u = 0; u < s.Units; u++)
                    sum += dy[u] * w[u];
                inputGrad[b * s.Inputs + i] = sum;
            }
        }
    }

    // input (B, I), outputGrad (B, U) -> kernelGrad (I, U) = input^T . outputGrad, biasGrad (U) or empty; overwritten
    public static void BackwardWeights<T>(in DenseShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> outputGrad, Span<T> kernelGrad, Span<T> biasGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Dense backward (weights)", (nameof(input), input.Length, s.InputLength),
            (nameof(outputGrad), outputGrad.Length, s.OutputLength), (nameof(kernelGrad), kernelGrad.Length, s.KernelLength));
        Check.OptionalLength("Dense backward (weights)", nameof(biasGrad), biasGrad.Length, s.BiasLength);
        kernelGrad.Clear();
        biasGrad.Clear();
        for (int b = 0; b < s.Batch; b++)
        {
            var dy = outputGrad.Slice(b * s.Units, s.Units);
            if (!biasGrad.IsEmpty)
            {
                for (int u = 0; u < s.Units; u++)
                    biasGrad[u] += dy[u];
            }
            for (int i = 0; i < s.Inputs; i++)
            {
                T x = input[b * s.Inputs + i];
                var dw = kernelGrad.Slice(i * s.Units, s.Units);
                for (int u = 0; u < s.Units; u++)
                    dw[u] += x * dy[u];
            }
        }
    }
}

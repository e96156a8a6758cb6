using System.Numerics.Tensors;
using Prelu.Kernels;

namespace Prelu.Simd;

/// <summary>A dense layer, Keras's layout (kernel (Inputs, Units)), as GEMMs split across threads by rows of their output.</summary>
internal static class Dense
{
    private const int RowGranule = 6; // the GEMM's register block: ranges of whole blocks

    // input (B, I), kernel (I, U), bias (U) or empty -> output (B, U)
    public static void Forward(DenseShape s, ReadOnlyMemory<float> input, ReadOnlyMemory<float> kernel, ReadOnlyMemory<float> bias,
        Memory<float> output, SimdSettings settings)
    {
        int inputs = s.Inputs, units = s.Units;
        Parallelism.ForRanges(s.Batch, settings.Threads, (_, first, last) =>
        {
            var y = output.Span.Slice(first * units, (last - first) * units);
            if (!bias.IsEmpty)
            {
                for (int b = 0; b < last - first; b++)
                    bias.Span.CopyTo(y.Slice(b * units, units));
            }
            Gemm.Multiply(last - first, units, inputs, input.Span[(first * inputs)..], MatrixLayout.RowMajor(inputs),
                kernel.Span, MatrixLayout.RowMajor(units), y, units, accumulate: !bias.IsEmpty, settings.VectorBits);
        }, RowGranule);
    }

    // input (B, I), outputGrad (B, U) -> kernelGrad (I, U) = input^T . outputGrad, biasGrad (U) or empty; overwritten
    public static void BackwardWeights(DenseShape s, ReadOnlyMemory<float> input, ReadOnlyMemory<float> outputGrad, Memory<float> kernelGrad,
        Memory<float> biasGrad, SimdSettings settings)
    {
        int inputs = s.Inputs, units = s.Units, batch = s.Batch;
        Parallelism.ForRanges(inputs, settings.Threads, (_, first, last) =>
            Gemm.Multiply(last - first, units, batch, input.Span[first..], MatrixLayout.Transposed(inputs),
                outputGrad.Span, MatrixLayout.RowMajor(units), kernelGrad.Span[(first * units)..], units, accumulate: false, settings.VectorBits), RowGranule);
        if (biasGrad.IsEmpty)
            return;
        var sum = biasGrad.Span;
        sum.Clear();
        for (int b = 0; b < batch; b++)
            TensorPrimitives.Add(sum, outputGrad.Span.Slice(b * units, units), sum);
    }

    // kernel (I, U), outputGrad (B, U) -> inputGrad (B, I) = outputGrad . kernel^T, overwritten
    public static void BackwardInput(DenseShape s, ReadOnlyMemory<float> kernel, ReadOnlyMemory<float> outputGrad, Memory<float> inputGrad, SimdSettings settings)
    {
        int inputs = s.Inputs, units = s.Units;
        Parallelism.ForRanges(s.Batch, settings.Threads, (_, first, last) =>
            Gemm.Multiply(last - first, inputs, units, outputGrad.Span[(first * units)..], MatrixLayout.RowMajor(units),
                kernel.Span, MatrixLayout.Transposed(units), inputGrad.Span[(first * inputs)..], inputs, accumulate: false, settings.VectorBits), RowGranule);
    }
}

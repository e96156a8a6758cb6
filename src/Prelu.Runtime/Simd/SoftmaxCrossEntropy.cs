using System.Numerics.Tensors;

namespace Prelu.Simd;

/// <summary>Softmax with categorical cross-entropy, a row at a time through TensorPrimitives (the semantics of <see cref="Reference.SoftmaxCrossEntropy"/>).</summary>
internal static class SoftmaxCrossEntropy
{
    // logits (B, K), labels (B, K) -> probabilities (B, K), logitsGrad (B, K) or empty; returns the summed loss and the correct count
    public static (float LossSum, int Correct) ForwardBackward(int batch, int classes, ReadOnlySpan<float> logits, ReadOnlySpan<float> labels,
        Span<float> probabilities, Span<float> logitsGrad)
    {
        float lossSum = 0f, inverseBatch = 1f / batch;
        int correct = 0;
        for (int b = 0; b < batch; b++)
        {
            var z = logits.Slice(b * classes, classes);
            var y = labels.Slice(b * classes, classes);
            var p = probabilities.Slice(b * classes, classes);
            float max = TensorPrimitives.Max(z);
            TensorPrimitives.Subtract(z, max, p);
            TensorPrimitives.Exp(p, p);
            float sum = TensorPrimitives.Sum(p);
            TensorPrimitives.Divide(p, sum, p);
            // -sum_k y_k (z_k - max - log sum)
            lossSum += (max + MathF.Log(sum)) * TensorPrimitives.Sum(y) - TensorPrimitives.Dot(y, z);
            if (Reference.SoftmaxCrossEntropy.ArgMax<float>(p) == Reference.SoftmaxCrossEntropy.ArgMax<float>(y))
                correct++;
            if (!logitsGrad.IsEmpty)
            {
                var grad = logitsGrad.Slice(b * classes, classes);
                TensorPrimitives.Subtract(p, y, grad);
                TensorPrimitives.Multiply(grad, inverseBatch, grad);
            }
        }
        return (lossSum, correct);
    }

    // logits (B, K) -> probabilities (B, K)
    public static void Softmax(int batch, int classes, ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        for (int b = 0; b < batch; b++)
            TensorPrimitives.SoftMax(logits.Slice(b * classes, classes), probabilities.Slice(b * classes, classes));
    }
}

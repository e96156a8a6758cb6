using System.Numerics;

namespace Prelu.Reference;

/// <summary>
/// Softmax fused with categorical cross-entropy, as Keras computes it for a softmax output layer (it
/// hands the logits to a stable log-softmax). loss_b = logsumexp(z_b) - sum_k y_bk z_bk for
/// one-hot (or soft) labels y; the reported loss is the batch mean, so dloss/dz = (p - y) / B.
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>
    /// logits (B, K), labels (B, K) -> probabilities (B, K), logitsGrad (B, K) or empty (evaluation).
    /// Returns the summed loss over the batch and the number of samples whose largest probability is
    /// at their label's largest value (Keras's categorical accuracy; ties go to the first class).
    /// </summary>
    public static (T LossSum, int Correct) ForwardBackward<T>(int batch, int classes, ReadOnlySpan<T> logits, ReadOnlySpan<T> labels,
        Span<T> probabilities, Span<T> logitsGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Positive("softmax cross-entropy", nameof(batch), batch);
        Check.Positive("softmax cross-entropy", nameof(classes), classes);
        int length = batch * classes;
        Check.Lengths("softmax cross-entropy", (nameof(logits), logits.Length, length), (nameof(labels), labels.Length, length),
            (nameof(probabilities), probabilities.Length, length));
        Check.OptionalLength("softmax cross-entropy", nameof(logitsGrad), logitsGrad.Length, length);
        T lossSum = T.Zero;
        int correct = 0;
        T inverseBatch = T.One / T.CreateChecked(batch);
        for (int b = 0; b < batch; b++)
        {
            var z = logits.Slice(b * classes, classes);
            var y = labels.Slice(b * classes, classes);
            var p = probabilities.Slice(b * classes, classes);
            T max = z[0];
            for (int k = 1; k < classes; k++)
                max = T.Max(max, z[k]);
            T sum = T.Zero;
            for (int k = 0; k < classes; k++)
            {
                p[k] = T.Exp(z[k] - max);
                sum += p[k];
            }
            T logSum = T.Log(sum);
            T loss = T.Zero;
            for (int k = 0; k < classes; k++)
            {
                p[k] /= sum;
                loss -= y[k] * (z[k] - max - logSum);
            }
            lossSum += loss;
            if (ArgMax(p) == ArgMax(y))
                correct++;
            if (!logitsGrad.IsEmpty)
            {
                for (int k = 0; k < classes; k++)
                    logitsGrad[b * classes + k] = (p[k] - y[k]) * inverseBatch;
            }
        }
        return (lossSum, correct);
    }

    /// <summary>logits (B, K) -> probabilities (B, K): the softmax alone, for prediction.</summary>
    public static void Softmax<T>(int batch, int classes, ReadOnlySpan<T> logits, Span<T> probabilities)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("softmax", (nameof(logits), logits.Length, batch * classes), (nameof(probabilities), probabilities.Length, batch * classes));
        for (int b = 0; b < batch; b++)
        {
            var z = logits.Slice(b * classes, classes);
            var p = probabilities.Slice(b * classes, classes);
            T max = z[0];
            for (int k = 1; k < classes; k++)
                max = T.Max(max, z[k]);
            T sum = T.Zero;
            for (int k = 0; k < classes; k++)
            {
                p[k] = T.Exp(z[k] - max);
                sum += p[k];
            }
            for (int k = 0; k < classes; k++)
                p[k] /= sum;
        }
    }

    // The first index of the largest value: Keras's accuracy gives ties to the first class. (The SIMD backend counts with it too.)
    internal static int ArgMax<T>(ReadOnlySpan<T> values)
        where T : IFloatingPointIeee754<T>
    {
        int best = 0;
        for (int k = 1; k < values.Length; k++)
        {
            if (values[k] > values[best])
                best = k;
        }
        return best;
    }
}

using System.Numerics.Tensors;
using Prelu.Kernels;
using Prelu.Reference;

namespace Prelu.Simd;

/// <summary>
/// The losses a row at a time (the semantics of <see cref="Reference.Loss"/>): the two softmax cross-entropies through
/// TensorPrimitives; binary cross-entropy and the regression losses, element-wise functions of a few outputs per
/// sample, in the reference's own loop.
/// </summary>
internal static class Loss
{
    public static LossTotals<float> ForwardBackward(in LossFunction loss, int batch, int outputs, ReadOnlySpan<float> z, ReadOnlySpan<float> targets,
        Span<float> predictions, Span<float> zGrad)
    {
        if (loss.Kind is not (LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy))
            return Reference.Loss.ForwardBackward(loss, batch, outputs, z, targets, predictions, zGrad);
        float lossSum = 0f, correct = 0f, absolute = 0f, squared = 0f, inverseBatch = 1f / batch;
        bool sparse = loss.SparseTargets;
        for (int b = 0; b < batch; b++)
        {
            var zb = z.Slice(b * outputs, outputs);
            var p = predictions.Slice(b * outputs, outputs);
            float logSum = Softmax(zb, p);
            int predicted = Reference.Loss.ArgMax<float>(p);
            Span<float> grad = zGrad.IsEmpty ? default : zGrad.Slice(b * outputs, outputs);
            if (sparse)
            {
                float index = targets[b];
                bool valid = index >= 0f && index < outputs && index == MathF.Floor(index);
                int target = valid ? (int)index : -1;
                lossSum += valid ? logSum - zb[target] : float.NaN;
                correct += predicted == target ? 1f : 0f;
                // |p - onehot| summed: the other classes' p, plus 1 - p at the target
                float targetP = valid ? p[target] : 0f;
                absolute += (TensorPrimitives.Sum(p) - targetP + (valid ? 1f - targetP : 0f)) / outputs;
                squared += (TensorPrimitives.SumOfSquares(p) - targetP * targetP + (valid ? (1f - targetP) * (1f - targetP) : 0f)) / outputs;
                if (!grad.IsEmpty)
                {
                    TensorPrimitives.Multiply(p, valid ? inverseBatch : 0f, grad);
                    if (valid)
                        grad[target] = (p[target] - 1f) * inverseBatch;
                }
                continue;
            }
            var y = targets.Slice(b * outputs, outputs);
            float ySum = TensorPrimitives.Sum(y);
            // -sum_k y_k (z_k - max - log sum)
            lossSum += logSum * ySum - TensorPrimitives.Dot(y, zb);
            correct += predicted == Reference.Loss.ArgMax(y) ? 1f : 0f;
            float rowAbsolute = 0f, rowSquared = 0f;
            for (int k = 0; k < outputs; k++)
            {
                float e = p[k] - y[k];
                rowAbsolute += MathF.Abs(e);
                rowSquared += e * e;
            }
            absolute += rowAbsolute / outputs;
            squared += rowSquared / outputs;
            if (!grad.IsEmpty)
            {
                // p sum(y) - y: p - y for a one-hot row
                TensorPrimitives.Multiply(p, ySum, grad);
                TensorPrimitives.Subtract(grad, y, grad);
                TensorPrimitives.Multiply(grad, inverseBatch, grad);
            }
        }
        return new(lossSum, correct, absolute, squared);
    }

    public static void Predict(in LossFunction loss, int batch, int outputs, ReadOnlySpan<float> z, Span<float> predictions)
    {
        if (loss.Kind is not (LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy))
        {
            Reference.Loss.Predict(loss, batch, outputs, z, predictions);
            return;
        }
        for (int b = 0; b < batch; b++)
            Softmax(z.Slice(b * outputs, outputs), predictions.Slice(b * outputs, outputs));
    }

    // p = softmax(z) of one row, as the loss computes it (so that prediction and evaluation agree to the bit);
    // returns log sum_k exp(z_k), the log-sum-exp.
    private static float Softmax(ReadOnlySpan<float> z, Span<float> p)
    {
        float max = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, max, p);
        TensorPrimitives.Exp(p, p);
        float sum = TensorPrimitives.Sum(p);
        TensorPrimitives.Divide(p, sum, p);
        return max + MathF.Log(sum);
    }
}

using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>What one batch adds to the metrics: sums over its samples (see <see cref="MetricSlot"/>).</summary>
/// <param name="LossSum">The samples' losses.</param>
/// <param name="Correct">Keras's accuracy of each sample: 1 or 0 for the categorical losses (argmax, ties to the first class),
/// the share of outputs right at a 0.5 threshold for binary cross-entropy, 0 for the regression losses.</param>
/// <param name="AbsoluteError">Each sample's mean |prediction - target| over its outputs (the target one-hot for sparse targets).</param>
/// <param name="SquaredError">Each sample's mean (prediction - target)^2 over its outputs.</param>
internal readonly record struct LossTotals<T>(T LossSum, T Correct, T AbsoluteError, T SquaredError);

/// <summary>
/// Every loss of <see cref="LossKind"/> with its gradient, the semantics the other backends are held to.
/// z (B, K) is the output layer's output: logits for the cross-entropies, predictions for the others.
/// The reported loss is the batch mean of the samples' losses, so each gradient carries 1/B (and 1/K for the
/// losses that average over outputs).
/// </summary>
internal static class Loss
{
    /// <summary>
    /// z (B, K), targets (B, K) or (B) class indices -> predictions (B, K) (softmax, sigmoid, or z itself:
    /// predictions may then be z's own memory), zGrad (B, K) or empty (evaluation). A class index outside
    /// [0, K) gives its sample a NaN loss (training stops at a non-finite loss), no hit and a zero gradient.
    /// </summary>
    public static LossTotals<T> ForwardBackward<T>(in LossFunction loss, int batch, int outputs, ReadOnlySpan<T> z, ReadOnlySpan<T> targets,
        Span<T> predictions, Span<T> zGrad)
        where T : IFloatingPointIeee754<T>
    {
        string op = loss.KerasName;
        loss.Check(op);
        Check.Positive(op, nameof(batch), batch);
        Check.Positive(op, "outputs", outputs);
        int length = batch * outputs;
        Check.Lengths(op, (nameof(z), z.Length, length), (nameof(targets), targets.Length, loss.TargetLength(batch, outputs)),
            (nameof(predictions), predictions.Length, length));
        Check.OptionalLength(op, nameof(zGrad), zGrad.Length, length);
        Predict(loss, batch, outputs, z, predictions);
        T lossSum = T.Zero, correct = T.Zero, absoluteSum = T.Zero, squaredSum = T.Zero;
        T inverseBatch = T.One / T.CreateChecked(batch);
        T scale = T.One / T.CreateChecked(length);
        T count = T.CreateChecked(outputs);
        for (int b = 0; b < batch; b++)
        {
            var zb = z.Slice(b * outputs, outputs);
            var p = predictions.Slice(b * outputs, outputs);
            Span<T> g = zGrad.IsEmpty ? default : zGrad.Slice(b * outputs, outputs);
            T sample = T.Zero, hits = T.Zero, absolute = T.Zero, squared = T.Zero;
            if (loss.SparseTargets)
            {
                T index = targets[b];
                bool valid = index >= T.Zero && index < count && index == T.Floor(index);
                int target = valid ? int.CreateTruncating(index) : -1;
                sample = valid ? LogSumExp(zb) - zb[target] : T.NaN;
                hits = valid && ArgMax<T>(p) == target ? T.One : T.Zero;
                for (int k = 0; k < outputs; k++)
                {
                    T e = p[k] - (k == target ? T.One : T.Zero);
                    absolute += T.Abs(e);
                    squared += e * e;
                    if (!g.IsEmpty)
                        g[k] = valid ? e * inverseBatch : T.Zero;
                }
            }
            else
            {
                var y = targets.Slice(b * outputs, outputs);
                if (loss.Kind == LossKind.CategoricalCrossentropy)
                {
                    // -sum_k y_k log softmax(z)_k; its gradient p_k sum(y) - y_k is p - y for a one-hot row.
                    T max = Max(zb), logSum = T.Log(SumOfExp(zb, max)), ySum = T.Zero;
                    for (int k = 0; k < outputs; k++)
                    {
                        sample -= y[k] * (zb[k] - max - logSum);
                        ySum += y[k];
                    }
                    hits = ArgMax<T>(p) == ArgMax(y) ? T.One : T.Zero;
                    if (!g.IsEmpty)
                    {
                        for (int k = 0; k < outputs; k++)
                            g[k] = (p[k] * ySum - y[k]) * inverseBatch;
                    }
                }
                else
                {
                    for (int k = 0; k < outputs; k++)
                    {
                        T e = p[k] - y[k];
                        sample += ElementLoss(loss, zb[k], y[k], e);
                        if (loss.Kind == LossKind.BinaryCrossentropy && (p[k] > T.CreateChecked(0.5) ? T.One : T.Zero) == y[k])
                            hits += T.One;
                        if (!g.IsEmpty)
                            g[k] = ElementGradient(loss, e) * scale;
                    }
                    sample /= count;
                    hits /= count;
                }
                for (int k = 0; k < outputs; k++)
                {
                    T e = p[k] - y[k];
                    absolute += T.Abs(e);
                    squared += e * e;
                }
            }
            lossSum += sample;
            correct += hits;
            absoluteSum += absolute / count;
            squaredSum += squared / count;
        }
        return new(lossSum, correct, absoluteSum, squaredSum);
    }

    /// <summary>z (B, K) -> what the model predicts: the softmax of each row, the sigmoid of each output, or z itself.</summary>
    public static void Predict<T>(in LossFunction loss, int batch, int outputs, ReadOnlySpan<T> z, Span<T> predictions)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths(loss.KerasName, (nameof(z), z.Length, batch * outputs), (nameof(predictions), predictions.Length, batch * outputs));
        switch (loss.Kind)
        {
            case LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy:
                for (int b = 0; b < batch; b++)
                {
                    var zb = z.Slice(b * outputs, outputs);
                    var p = predictions.Slice(b * outputs, outputs);
                    T max = Max(zb), sum = SumOfExp(zb, max, p);
                    for (int k = 0; k < outputs; k++)
                        p[k] /= sum;
                }
                break;
            case LossKind.BinaryCrossentropy:
                for (int i = 0; i < z.Length; i++)
                    predictions[i] = T.One / (T.One + T.Exp(-z[i]));
                break;
            default:
                z.CopyTo(predictions); // a no-op when predictions is z's own memory
                break;
        }
    }

    // One output's loss: binary cross-entropy from the logit z, or a regression loss of the error e = p - y.
    private static T ElementLoss<T>(in LossFunction loss, T z, T y, T e)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateChecked(0.5);
        switch (loss.Kind)
        {
            case LossKind.BinaryCrossentropy:
                return T.Max(z, T.Zero) - z * y + T.LogP1(T.Exp(-T.Abs(z)));
            case LossKind.MeanSquaredError:
                return e * e;
            case LossKind.MeanAbsoluteError:
                return T.Abs(e);
            default:
                T delta = T.CreateChecked(loss.Delta), a = T.Abs(e);
                return a <= delta ? half * e * e : delta * (a - half * delta);
        }
    }

    // The element's gradient before the 1/(B K) of the mean: p - y for binary cross-entropy (through its sigmoid).
    private static T ElementGradient<T>(in LossFunction loss, T e)
        where T : IFloatingPointIeee754<T> => loss.Kind switch
        {
            LossKind.BinaryCrossentropy => e,
            LossKind.MeanSquaredError => T.CreateChecked(2) * e,
            LossKind.MeanAbsoluteError => T.CreateChecked(T.Sign(e)),
            _ => T.Clamp(e, -T.CreateChecked(loss.Delta), T.CreateChecked(loss.Delta)),
        };

    private static T Max<T>(ReadOnlySpan<T> z)
        where T : IFloatingPointIeee754<T>
    {
        T max = z[0];
        for (int k = 1; k < z.Length; k++)
            max = T.Max(max, z[k]);
        return max;
    }

    // sum_k exp(z_k - max), keeping each term in terms when given (the softmax's numerators).
    private static T SumOfExp<T>(ReadOnlySpan<T> z, T max, Span<T> terms = default)
        where T : IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int k = 0; k < z.Length; k++)
        {
            T term = T.Exp(z[k] - max);
            if (!terms.IsEmpty)
                terms[k] = term;
            sum += term;
        }
        return sum;
    }

    private static T LogSumExp<T>(ReadOnlySpan<T> z)
        where T : IFloatingPointIeee754<T>
    {
        T max = Max(z);
        return max + T.Log(SumOfExp(z, max));
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

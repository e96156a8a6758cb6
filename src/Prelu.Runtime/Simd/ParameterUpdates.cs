using System.Numerics;
using System.Numerics.Tensors;
using Prelu.Kernels;

namespace Prelu.Simd;

/// <summary>Adam, SGD and weight penalties, vectorised and split across threads (the semantics of <see cref="Reference.ParameterUpdates"/> and <see cref="Reference.Regularization"/>).</summary>
internal static class ParameterUpdates
{
    // param, grad, m, v: (L)
    public static void Adam(AdamSettings settings, long step, Memory<float> param, ReadOnlyMemory<float> grad, Memory<float> m, Memory<float> v, int threads)
    {
        float alpha = (float)settings.StepSize(step), keep1 = 1f - settings.Beta1, keep2 = 1f - settings.Beta2, epsilon = settings.Epsilon;
        Ranges(param.Length, threads, (start, end) =>
        {
            var w = param.Span[start..end];
            var g = grad.Span[start..end];
            var mean = m.Span[start..end];
            var variance = v.Span[start..end];
            int width = Vector<float>.Count, i = 0;
            for (; i <= w.Length - width; i += width)
            {
                var gi = new Vector<float>(g[i..]);
                var mi = new Vector<float>(mean[i..]);
                var vi = new Vector<float>(variance[i..]);
                mi += (gi - mi) * keep1;
                vi += (gi * gi - vi) * keep2;
                mi.CopyTo(mean[i..]);
                vi.CopyTo(variance[i..]);
                (new Vector<float>(w[i..]) - mi * alpha / (Vector.SquareRoot(vi) + new Vector<float>(epsilon))).CopyTo(w[i..]);
            }
            for (; i < w.Length; i++)
            {
                mean[i] += (g[i] - mean[i]) * keep1;
                variance[i] += (g[i] * g[i] - variance[i]) * keep2;
                w[i] -= mean[i] * alpha / (MathF.Sqrt(variance[i]) + epsilon);
            }
        });
    }

    // param, grad, velocity (or empty without momentum): (L)
    public static void Sgd(SgdSettings settings, Memory<float> param, ReadOnlyMemory<float> grad, Memory<float> velocity, int threads)
    {
        float lr = settings.LearningRate, momentum = settings.Momentum;
        bool nesterov = settings.Nesterov;
        Ranges(param.Length, threads, (start, end) =>
        {
            var w = param.Span[start..end];
            var g = grad.Span[start..end];
            if (momentum == 0f)
            {
                TensorPrimitives.MultiplyAdd(g, -lr, w, w); // w -= lr g
                return;
            }
            var u = velocity.Span[start..end];
            TensorPrimitives.Multiply(u, momentum, u);
            TensorPrimitives.MultiplyAdd(g, -lr, u, u); // u = momentum u - lr g
            if (nesterov)
            {
                TensorPrimitives.MultiplyAdd(u, momentum, w, w);
                TensorPrimitives.MultiplyAdd(g, -lr, w, w); // w += momentum u - lr g
            }
            else
            {
                TensorPrimitives.Add(w, u, w);
            }
        });
    }

    /// <summary>grad += l1 sign(w) + 2 l2 w; returns the penalty l1 sum|w| + l2 sum w^2.</summary>
    public static float AddPenaltyGradient(Regularizer regularizer, ReadOnlySpan<float> param, Span<float> grad)
    {
        float l1 = regularizer.L1, l2 = regularizer.L2;
        float penalty = l1 * TensorPrimitives.SumOfMagnitudes(param) + l2 * TensorPrimitives.SumOfSquares(param);
        var scaledL1 = new Vector<float>(l1);
        int width = Vector<float>.Count, i = 0;
        for (; i <= param.Length - width; i += width)
        {
            var w = new Vector<float>(param[i..]);
            // l1 sign(w), NaN where w is NaN (as the reference)
            var sign = Vector.ConditionalSelect(Vector.GreaterThan(w, Vector<float>.Zero), scaledL1,
                Vector.ConditionalSelect(Vector.LessThan(w, Vector<float>.Zero), -scaledL1,
                    Vector.ConditionalSelect(Vector.Equals(w, w), Vector<float>.Zero, w)));
            (new Vector<float>(grad[i..]) + sign + w * (2f * l2)).CopyTo(grad[i..]);
        }
        for (; i < param.Length; i++)
            grad[i] += l1 * (param[i] > 0f ? 1f : param[i] < 0f ? -1f : param[i] == 0f ? 0f : param[i]) + 2f * l2 * param[i];
        return penalty;
    }

    private static void Ranges(int length, int threads, Action<int, int> body)
    {
        int ranges = Math.Clamp(length / 65536, 1, threads);
        Parallelism.ForRanges(length, ranges, (_, start, end) => body(start, end), Vector<float>.Count);
    }
}

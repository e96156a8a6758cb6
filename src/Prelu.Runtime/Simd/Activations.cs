using System.Buffers;
using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Simd;

/// <summary>
/// ReLU, LeakyReLU and PReLU (every sharing) over a batch, vectorised with compares and selects; sigmoid and
/// tanh through TensorPrimitives; the other pointwise activations with the reference's element function on every thread. PReLU
/// expands its alphas to one per feature once per call, so every sharing runs the same per-element code;
/// its alpha gradient is summed per feature in each thread's range of samples, the ranges added in order,
/// then folded into the shared alphas.
/// </summary>
internal static class Activations
{
    // z (L) -> y (L) = act(z); for a linear activation z is copied unless it is y.
    public static void Forward(FusedActivation activation, Memory<float> z, ReadOnlyMemory<float> alpha, Memory<float> y, int threads)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Linear:
                if (!z.Span.Overlaps(y.Span))
                    z.Span.CopyTo(y.Span);
                break;
            case ActivationKind.Relu:
                Ranges(z.Length, threads, (start, end) => System.Numerics.Tensors.TensorPrimitives.Max(z.Span[start..end], 0f, y.Span[start..end]));
                break;
            case ActivationKind.LeakyRelu:
                float leak = activation.Parameter;
                Ranges(z.Length, threads, (start, end) => LeakyForward(leak, z.Span[start..end], y.Span[start..end]));
                break;
            case ActivationKind.PRelu:
                var shape = activation.PRelu!;
                var perFeature = Expand(shape, alpha.Span);
                int features = shape.FeatureLength;
                Parallelism.ForRanges(shape.Batch, threads, (_, first, last) =>
                {
                    for (int n = first; n < last; n++)
                        PReluForward(z.Span.Slice(n * features, features), perFeature, y.Span.Slice(n * features, features));
                });
                ArrayPool<float>.Shared.Return(perFeature);
                break;
            case ActivationKind.Sigmoid:
                Ranges(z.Length, threads, (start, end) => System.Numerics.Tensors.TensorPrimitives.Sigmoid(z.Span[start..end], y.Span[start..end]));
                break;
            case ActivationKind.Tanh:
                Ranges(z.Length, threads, (start, end) => System.Numerics.Tensors.TensorPrimitives.Tanh(z.Span[start..end], y.Span[start..end]));
                break;
            default:
                // ELU, SELU, GELU, softplus, swish: the reference's element function, on every thread.
                var (kind, parameter) = (activation.Kind, activation.Parameter);
                Ranges(z.Length, threads, (start, end) => Reference.PointwiseActivation.Forward(kind, parameter, z.Span[start..end], y.Span[start..end]));
                break;
        }
    }

    // z (L), grad (L): dL/dy in, dL/dz out (in place); alphaGrad (PReLU's alpha shape), overwritten.
    public static void Backward(FusedActivation activation, ReadOnlyMemory<float> z, ReadOnlyMemory<float> alpha, Memory<float> grad,
        Memory<float> alphaGrad, int threads)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Relu:
                Ranges(z.Length, threads, (start, end) => LeakyBackward(0f, z.Span[start..end], grad.Span[start..end]));
                break;
            case ActivationKind.LeakyRelu:
                float leak = activation.Parameter;
                Ranges(z.Length, threads, (start, end) => LeakyBackward(leak, z.Span[start..end], grad.Span[start..end]));
                break;
            case ActivationKind.PRelu:
                PReluBackward(activation.PRelu!, z, alpha, grad, alphaGrad, threads);
                break;
            case ActivationKind.Linear:
                break;
            default:
                var (kind, parameter) = (activation.Kind, activation.Parameter);
                Ranges(z.Length, threads, (start, end) => Reference.PointwiseActivation.Backward(kind, parameter, z.Span[start..end], grad.Span[start..end]));
                break;
        }
    }

    private static void Ranges(int length, int threads, Action<int, int> body)
    {
        // Ranges of whole vectors, large enough that a task is worth starting.
        int ranges = Math.Clamp(length / 16384, 1, threads);
        Parallelism.ForRanges(length, ranges, (_, start, end) => body(start, end), Vector<float>.Count);
    }

    // One alpha per feature, in a pooled array (return it when done).
    private static float[] Expand(PReluShape shape, ReadOnlySpan<float> alpha)
    {
        var perFeature = ArrayPool<float>.Shared.Rent(shape.FeatureLength);
        var map = shape.AlphaMap;
        for (int i = 0; i < shape.FeatureLength; i++)
            perFeature[i] = alpha[map[i]];
        return perFeature;
    }

    private static void LeakyForward(float leak, ReadOnlySpan<float> z, Span<float> y)
    {
        var slope = new Vector<float>(leak);
        int i = 0;
        for (; i <= z.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = new Vector<float>(z[i..]);
            Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, v * slope).CopyTo(y[i..]);
        }
        for (; i < z.Length; i++)
            y[i] = z[i] > 0f ? z[i] : leak * z[i];
    }

    // grad = z > 0 ? grad : leak * grad (ReLU: leak 0)
    private static void LeakyBackward(float leak, ReadOnlySpan<float> z, Span<float> grad)
    {
        var slope = new Vector<float>(leak);
        int i = 0;
        for (; i <= z.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var g = new Vector<float>(grad[i..]);
            Vector.ConditionalSelect(Vector.GreaterThan(new Vector<float>(z[i..]), Vector<float>.Zero), g, g * slope).CopyTo(grad[i..]);
        }
        for (; i < z.Length; i++)
            grad[i] = z[i] > 0f ? grad[i] : leak * grad[i];
    }

    private static void PReluForward(ReadOnlySpan<float> z, ReadOnlySpan<float> alpha, Span<float> y)
    {
        int i = 0;
        for (; i <= z.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = new Vector<float>(z[i..]);
            Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, v * new Vector<float>(alpha[i..])).CopyTo(y[i..]);
        }
        for (; i < z.Length; i++)
            y[i] = z[i] > 0f ? z[i] : alpha[i] * z[i];
    }

    private static void PReluBackward(PReluShape shape, ReadOnlyMemory<float> z, ReadOnlyMemory<float> alpha, Memory<float> grad,
        Memory<float> alphaGrad, int threads)
    {
        int features = shape.FeatureLength;
        var perFeature = Expand(shape, alpha.Span);
        int ranges = Parallelism.RangeCount(shape.Batch, threads);
        var partial = ArrayPool<float>.Shared.Rent(ranges * features);
        Parallelism.ForRanges(shape.Batch, threads, (range, first, last) =>
        {
            var sums = partial.AsSpan(range * features, features);
            sums.Clear(); // pooled: it holds an earlier call's sums
            for (int n = first; n < last; n++)
                PReluBackwardSample(z.Span.Slice(n * features, features), perFeature, grad.Span.Slice(n * features, features), sums);
        });
        var total = partial.AsSpan(0, features);
        for (int range = 1; range < ranges; range++)
            System.Numerics.Tensors.TensorPrimitives.Add(total, partial.AsSpan(range * features, features), total);
        var groups = alphaGrad.Span;
        groups.Clear();
        var map = shape.AlphaMap;
        for (int i = 0; i < features; i++)
            groups[map[i]] += total[i];
        ArrayPool<float>.Shared.Return(partial);
        ArrayPool<float>.Shared.Return(perFeature);
    }

    // grad = z > 0 ? grad : alpha * grad; sums += z > 0 ? 0 : z * grad (the incoming grad)
    private static void PReluBackwardSample(ReadOnlySpan<float> z, ReadOnlySpan<float> alpha, Span<float> grad, Span<float> sums)
    {
        int i = 0;
        for (; i <= z.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = new Vector<float>(z[i..]);
            var g = new Vector<float>(grad[i..]);
            var positive = Vector.GreaterThan(v, Vector<float>.Zero);
            (new Vector<float>(sums[i..]) + Vector.ConditionalSelect(positive, Vector<float>.Zero, v * g)).CopyTo(sums[i..]);
            Vector.ConditionalSelect(positive, g, g * new Vector<float>(alpha[i..])).CopyTo(grad[i..]);
        }
        for (; i < z.Length; i++)
        {
            if (z[i] > 0f)
                continue;
            sums[i] += z[i] * grad[i];
            grad[i] *= alpha[i];
        }
    }
}

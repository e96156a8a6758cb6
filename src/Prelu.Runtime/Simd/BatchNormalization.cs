using System.Numerics;
using System.Numerics.Tensors;
using Prelu.Kernels;

namespace Prelu.Simd;

/// <summary>
/// Batch normalisation over the last axis with the reference's arithmetic (Reference/BatchNormalization.cs), the rows
/// split across threads and the channels of a row in vectors. Each channel's sums are float64, kept per range of rows
/// and added in range order: the same bits on every run with the same threads (the reference sums the rows in one run,
/// so the last bits of a statistic may differ from its). Every element is normalised, and its gradient computed, by
/// the reference's float operations in the reference's order, so equal statistics give equal outputs.
/// </summary>
internal static class BatchNormalization
{
    // x (Rows, C), gamma (C) or empty, beta (C) or empty, movingMean, movingVariance (C) -> y (Rows, C)
    public static void Forward(BatchNormShape s, bool training, float momentum, float epsilon, ReadOnlyMemory<float> x,
        ReadOnlyMemory<float> gamma, ReadOnlyMemory<float> beta, Memory<float> movingMean, Memory<float> movingVariance, Memory<float> y, int threads)
    {
        int channels = s.Channels;
        var mean = new float[channels];
        var variance = new float[channels];
        if (training)
        {
            Statistics(s, x, mean, variance, threads);
            var moving = movingMean.Span;
            var movingVar = movingVariance.Span;
            for (int c = 0; c < channels; c++)
            {
                moving[c] = moving[c] * momentum + mean[c] * (1f - momentum);
                movingVar[c] = movingVar[c] * momentum + variance[c] * (1f - momentum);
            }
        }
        else
        {
            movingMean.Span.CopyTo(mean);
            movingVariance.Span.CopyTo(variance);
        }
        var scale = new float[channels];
        var offset = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = (gamma.IsEmpty ? 1f : gamma.Span[c]) / MathF.Sqrt(variance[c] + epsilon);
            offset[c] = beta.IsEmpty ? 0f : beta.Span[c];
        }
        // y = (x - mean) * scale + offset, each operation rounded as the reference rounds it (no fused multiply-add).
        Parallelism.ForRanges(s.Rows, threads, (_, start, end) =>
        {
            var input = x.Span;
            var output = y.Span;
            for (int r = start; r < end; r++)
            {
                var row = output.Slice(r * channels, channels);
                TensorPrimitives.Subtract(input.Slice(r * channels, channels), mean, row);
                TensorPrimitives.Multiply(row, scale, row);
                TensorPrimitives.Add(row, offset, row);
            }
        });
    }

    // x (Rows, C), gamma (C) or empty, dy (Rows, C) -> dx (Rows, C) or empty, dgamma (C) or empty, dbeta (C) or empty, overwritten.
    // dbeta = sum dy, dgamma = sum dy xhat, dx = gamma / sqrt(var + eps) (dy - dbeta / M - xhat dgamma / M), as the reference.
    public static void Backward(BatchNormShape s, float epsilon, ReadOnlyMemory<float> x, ReadOnlyMemory<float> gamma, ReadOnlyMemory<float> dy,
        Memory<float> dx, Memory<float> gammaGrad, Memory<float> betaGrad, int threads)
    {
        int channels = s.Channels;
        var mean = new float[channels];
        var variance = new float[channels];
        Statistics(s, x, mean, variance, threads);
        var inverse = new float[channels];
        for (int c = 0; c < channels; c++)
            inverse[c] = 1f / MathF.Sqrt(variance[c] + epsilon);

        // The two sums in one pass over the rows: dy, and dy * xhat with xhat = (x - mean) * inverse in float.
        int ranges = Parallelism.RangeCount(s.Rows, threads);
        var sums = new double[ranges, 2 * channels];
        Parallelism.ForRanges(s.Rows, threads, (range, start, end) =>
        {
            var input = x.Span;
            var gradient = dy.Span;
            Span<float> product = channels <= 1024 ? stackalloc float[channels] : new float[channels];
            var sumDy = new double[channels];
            var sumDyXhat = new double[channels];
            for (int r = start; r < end; r++)
            {
                var dyRow = gradient.Slice(r * channels, channels);
                TensorPrimitives.Subtract(input.Slice(r * channels, channels), mean, product);
                TensorPrimitives.Multiply(product, inverse, product);
                TensorPrimitives.Multiply(dyRow, product, product);
                AddWidened(dyRow, sumDy);
                AddWidened(product, sumDyXhat);
            }
            for (int c = 0; c < channels; c++)
            {
                sums[range, c] = sumDy[c];
                sums[range, channels + c] = sumDyXhat[c];
            }
        });
        var dbeta = new float[channels];
        var dgamma = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double sumDy = 0, sumDyXhat = 0;
            for (int range = 0; range < ranges; range++)
            {
                sumDy += sums[range, c];
                sumDyXhat += sums[range, channels + c];
            }
            dbeta[c] = (float)sumDy;
            dgamma[c] = (float)sumDyXhat;
        }
        if (!betaGrad.IsEmpty)
            dbeta.CopyTo(betaGrad.Span);
        if (!gammaGrad.IsEmpty)
            dgamma.CopyTo(gammaGrad.Span);
        if (dx.IsEmpty)
            return;

        // dx = scale * (dy - dbeta / M - xhat * dgamma / M), element by element in the reference's order.
        float rows = s.Rows;
        var scale = new float[channels];
        var betaShare = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = (gamma.IsEmpty ? 1f : gamma.Span[c]) * inverse[c];
            betaShare[c] = dbeta[c] / rows;
        }
        Parallelism.ForRanges(s.Rows, threads, (_, start, end) =>
        {
            var input = x.Span;
            var gradient = dy.Span;
            var output = dx.Span;
            Span<float> xhat = channels <= 1024 ? stackalloc float[channels] : new float[channels];
            for (int r = start; r < end; r++)
            {
                var row = output.Slice(r * channels, channels);
                TensorPrimitives.Subtract(input.Slice(r * channels, channels), mean, xhat);
                TensorPrimitives.Multiply(xhat, inverse, xhat);
                TensorPrimitives.Multiply(xhat, dgamma, xhat); // xhat * dgamma / M, left to right as the reference
                TensorPrimitives.Divide(xhat, rows, xhat);
                TensorPrimitives.Subtract(gradient.Slice(r * channels, channels), betaShare, row);
                TensorPrimitives.Subtract(row, xhat, row);
                TensorPrimitives.Multiply(row, scale, row);
            }
        });
    }

    /// <summary>Each channel's mean and biased variance over the rows of x: two passes in float64, per range of rows.</summary>
    private static void Statistics(BatchNormShape s, ReadOnlyMemory<float> x, float[] mean, float[] variance, int threads)
    {
        int channels = s.Channels;
        int ranges = Parallelism.RangeCount(s.Rows, threads);
        var partials = new double[ranges][];
        Parallelism.ForRanges(s.Rows, threads, (range, start, end) =>
        {
            var sum = new double[channels];
            var input = x.Span;
            for (int r = start; r < end; r++)
                AddWidened(input.Slice(r * channels, channels), sum);
            partials[range] = sum;
        });
        var means = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double total = 0;
            for (int range = 0; range < ranges; range++)
                total += partials[range][c];
            means[c] = total / s.Rows;
        }
        Parallelism.ForRanges(s.Rows, threads, (range, start, end) =>
        {
            var squares = new double[channels];
            var input = x.Span;
            for (int r = start; r < end; r++)
            {
                var row = input.Slice(r * channels, channels);
                for (int c = 0; c < channels; c++)
                {
                    double d = row[c] - means[c];
                    squares[c] += d * d;
                }
            }
            partials[range] = squares;
        });
        for (int c = 0; c < channels; c++)
        {
            double total = 0;
            for (int range = 0; range < ranges; range++)
                total += partials[range][c];
            mean[c] = (float)means[c];
            variance[c] = (float)(total / s.Rows);
        }
    }

    // sums[c] += values[c] in float64, a vector of floats widened to two of doubles at a time.
    private static void AddWidened(ReadOnlySpan<float> values, Span<double> sums)
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count, half = Vector<double>.Count;
            for (; c + width <= values.Length; c += width)
            {
                Vector.Widen(new Vector<float>(values[c..]), out var low, out var high);
                (new Vector<double>(sums[c..]) + low).CopyTo(sums[c..]);
                (new Vector<double>(sums[(c + half)..]) + high).CopyTo(sums[(c + half)..]);
            }
        }
        for (; c < values.Length; c++)
            sums[c] += values[c];
    }
}

using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>
/// Batch normalisation over the last axis (Ioffe and Szegedy 2015), as Keras computes it: in training, each
/// channel's mean and biased variance over the batch's rows normalise it, and the moving statistics move
/// towards them (moving = moving * momentum + batch * (1 - momentum)); in inference the moving statistics
/// normalise. Sums are taken in float64 whatever T is, two passes (mean, then squared deviations).
/// </summary>
internal static class BatchNormalization
{
    // x (Rows, C), gamma (C) or empty (1), beta (C) or empty (0), movingMean, movingVariance (C) -> y (Rows, C)
    public static void Forward<T>(in BatchNormShape s, bool training, T momentum, T epsilon, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> movingMean, Span<T> movingVariance, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        const string op = "BatchNormalization forward";
        Check.Lengths(op, (nameof(x), x.Length, s.Length), (nameof(y), y.Length, s.Length),
            (nameof(movingMean), movingMean.Length, s.Channels), (nameof(movingVariance), movingVariance.Length, s.Channels));
        Check.OptionalLength(op, nameof(gamma), gamma.Length, s.Channels);
        Check.OptionalLength(op, nameof(beta), beta.Length, s.Channels);
        var mean = new T[s.Channels];
        var variance = new T[s.Channels];
        if (training)
        {
            Statistics(s, x, mean, variance);
            for (int c = 0; c < s.Channels; c++)
            {
                movingMean[c] = movingMean[c] * momentum + mean[c] * (T.One - momentum);
                movingVariance[c] = movingVariance[c] * momentum + variance[c] * (T.One - momentum);
            }
        }
        else
        {
            movingMean.CopyTo(mean);
            movingVariance.CopyTo(variance);
        }
        for (int c = 0; c < s.Channels; c++)
        {
            T scale = (gamma.IsEmpty ? T.One : gamma[c]) / T.Sqrt(variance[c] + epsilon);
            T offset = beta.IsEmpty ? T.Zero : beta[c];
            for (int r = 0; r < s.Rows; r++)
            {
                int i = r * s.Channels + c;
                y[i] = (x[i] - mean[c]) * scale + offset;
            }
        }
    }

    // x (Rows, C), gamma (C) or empty, dy (Rows, C) -> dx (Rows, C) or empty, dgamma (C) or empty, dbeta (C) or empty, overwritten.
    // With xhat = (x - mean) / sqrt(var + eps) and M rows: dbeta = sum dy, dgamma = sum dy xhat,
    // dx = gamma / sqrt(var + eps) (dy - dbeta / M - xhat dgamma / M).
    public static void Backward<T>(in BatchNormShape s, T epsilon, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> gammaGrad, Span<T> betaGrad)
        where T : IFloatingPointIeee754<T>
    {
        const string op = "BatchNormalization backward";
        Check.Lengths(op, (nameof(x), x.Length, s.Length), (nameof(dy), dy.Length, s.Length));
        Check.OptionalLength(op, nameof(gamma), gamma.Length, s.Channels);
        Check.OptionalLength(op, nameof(dx), dx.Length, s.Length);
        Check.OptionalLength(op, nameof(gammaGrad), gammaGrad.Length, s.Channels);
        Check.OptionalLength(op, nameof(betaGrad), betaGrad.Length, s.Channels);
        var mean = new T[s.Channels];
        var variance = new T[s.Channels];
        Statistics(s, x, mean, variance);
        T rows = T.CreateTruncating(s.Rows);
        for (int c = 0; c < s.Channels; c++)
        {
            T inverse = T.One / T.Sqrt(variance[c] + epsilon);
            double sumDy = 0, sumDyXhat = 0;
            for (int r = 0; r < s.Rows; r++)
            {
                int i = r * s.Channels + c;
                sumDy += double.CreateTruncating(dy[i]);
                sumDyXhat += double.CreateTruncating(dy[i] * ((x[i] - mean[c]) * inverse));
            }
            T dbeta = T.CreateTruncating(sumDy), dgamma = T.CreateTruncating(sumDyXhat);
            if (!betaGrad.IsEmpty)
                betaGrad[c] = dbeta;
            if (!gammaGrad.IsEmpty)
                gammaGrad[c] = dgamma;
            if (dx.IsEmpty)
                continue;
            T scale = (gamma.IsEmpty ? T.One : gamma[c]) * inverse;
            for (int r = 0; r < s.Rows; r++)
            {
                int i = r * s.Channels + c;
                T xhat = (x[i] - mean[c]) * inverse;
                dx[i] = scale * (dy[i] - dbeta / rows - xhat * dgamma / rows);
            }
        }
    }

    /// <summary>Each channel's mean and biased variance over the rows of x.</summary>
    public static void Statistics<T>(in BatchNormShape s, ReadOnlySpan<T> x, Span<T> mean, Span<T> variance)
        where T : IFloatingPointIeee754<T>
    {
        for (int c = 0; c < s.Channels; c++)
        {
            double sum = 0;
            for (int r = 0; r < s.Rows; r++)
                sum += double.CreateTruncating(x[r * s.Channels + c]);
            double m = sum / s.Rows, squares = 0;
            for (int r = 0; r < s.Rows; r++)
            {
                double d = double.CreateTruncating(x[r * s.Channels + c]) - m;
                squares += d * d;
            }
            mean[c] = T.CreateTruncating(m);
            variance[c] = T.CreateTruncating(squares / s.Rows);
        }
    }
}

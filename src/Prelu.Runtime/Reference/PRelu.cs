using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>
/// PReLU (He et al. 2015): y = x where x &gt; 0, alpha * x otherwise, with Keras's alpha shape
/// (see <see cref="PReluShape"/>). dy/dx = 1 or alpha; dy/dalpha = 0 or x, summed over every position
/// that shares the alpha (the batch, and the shared axes).
/// </summary>
internal static class PRelu
{
    // x (N, features), alpha (alpha shape) -> y (N, features)
    public static void Forward<T>(PReluShape s, ReadOnlySpan<T> x, ReadOnlySpan<T> alpha, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("PReLU forward", (nameof(x), x.Length, s.Length), (nameof(alpha), alpha.Length, s.AlphaLength), (nameof(y), y.Length, s.Length));
        var map = s.AlphaMap;
        for (int n = 0; n < s.Batch; n++)
        {
            int offset = n * s.FeatureLength;
            for (int i = 0; i < s.FeatureLength; i++)
            {
                T v = x[offset + i];
                y[offset + i] = v > T.Zero ? v : alpha[map[i]] * v;
            }
        }
    }

    // x (N, features), alpha, dy (N, features) -> dx (N, features) (may be dy), alphaGrad (alpha shape), overwritten
    public static void Backward<T>(PReluShape s, ReadOnlySpan<T> x, ReadOnlySpan<T> alpha, ReadOnlySpan<T> dy, Span<T> dx, Span<T> alphaGrad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("PReLU backward", (nameof(x), x.Length, s.Length), (nameof(alpha), alpha.Length, s.AlphaLength),
            (nameof(dy), dy.Length, s.Length), (nameof(dx), dx.Length, s.Length), (nameof(alphaGrad), alphaGrad.Length, s.AlphaLength));
        var map = s.AlphaMap;
        alphaGrad.Clear();
        for (int n = 0; n < s.Batch; n++)
        {
            int offset = n * s.FeatureLength;
            for (int i = 0; i < s.FeatureLength; i++)
            {
                T v = x[offset + i];
                T g = dy[offset + i];
                if (v > T.Zero)
                {
                    dx[offset + i] = g;
                }
                else
                {
                    alphaGrad[map[i]] += v * g;
                    dx[offset + i] = alpha[map[i]] * g;
                }
            }
        }
    }
}

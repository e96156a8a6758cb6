using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>
/// The activations that are a function of one element, as Keras defines them: sigmoid, tanh, ELU(alpha),
/// SELU, GELU (the exact form, with erf: Keras's and PyTorch's default), softplus and swish (SiLU), with
/// their derivatives from the pre-activation z. ReLU, LeakyReLU and PReLU are <see cref="Relu"/> and <see cref="PRelu"/>.
/// </summary>
internal static class PointwiseActivation
{
    /// <summary>SELU's constants (Klambauer et al. 2017), as Keras writes them.</summary>
    public const double SeluAlpha = 1.6732632423543772848170429916717;

    public const double SeluScale = 1.0507009873554804934193349852946;

    /// <summary>Whether <paramref name="kind"/> is computed here.</summary>
    public static bool Covers(ActivationKind kind) => kind is ActivationKind.Sigmoid or ActivationKind.Tanh or ActivationKind.Elu
        or ActivationKind.Selu or ActivationKind.Gelu or ActivationKind.Softplus or ActivationKind.Swish;

    /// <summary>f(z); <paramref name="parameter"/> is ELU's alpha.</summary>
    public static T Apply<T>(ActivationKind kind, T parameter, T z)
        where T : IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case ActivationKind.Sigmoid:
                return Sigmoid(z);
            case ActivationKind.Tanh:
                return T.Tanh(z);
            case ActivationKind.Elu:
                return z > T.Zero ? z : parameter * T.ExpM1(z);
            case ActivationKind.Selu:
                return T.CreateTruncating(SeluScale) * (z > T.Zero ? z : T.CreateTruncating(SeluAlpha) * T.ExpM1(z));
            case ActivationKind.Gelu:
                // 0.5 z (1 + erf(z / sqrt 2)) = z Phi(z)
                return z * T.CreateTruncating(NormalCdf(double.CreateTruncating(z)));
            case ActivationKind.Softplus:
                // log(1 + e^z) without overflow: max(z, 0) + log(1 + e^-|z|)
                return T.Max(z, T.Zero) + T.LogP1(T.Exp(-T.Abs(z)));
            case ActivationKind.Swish:
                return z * Sigmoid(z);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a pointwise activation");
        }
    }

    /// <summary>f'(z).</summary>
    public static T Derivative<T>(ActivationKind kind, T parameter, T z)
        where T : IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case ActivationKind.Sigmoid:
            {
                T s = Sigmoid(z);
                return s * (T.One - s);
            }
            case ActivationKind.Tanh:
            {
                T t = T.Tanh(z);
                return T.One - t * t;
            }
            case ActivationKind.Elu:
                return z > T.Zero ? T.One : parameter * T.Exp(z);
            case ActivationKind.Selu:
                return T.CreateTruncating(SeluScale) * (z > T.Zero ? T.One : T.CreateTruncating(SeluAlpha) * T.Exp(z));
            case ActivationKind.Gelu:
            {
                // Phi(z) + z phi(z)
                double v = double.CreateTruncating(z);
                return T.CreateTruncating(NormalCdf(v) + v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI));
            }
            case ActivationKind.Softplus:
                return Sigmoid(z);
            case ActivationKind.Swish:
            {
                T s = Sigmoid(z);
                return s * (T.One + z * (T.One - s));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a pointwise activation");
        }
    }

    // z (L) -> y (L) = f(z); y may be z
    public static void Forward<T>(ActivationKind kind, T parameter, ReadOnlySpan<T> z, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths($"{kind} forward", (nameof(y), y.Length, z.Length));
        for (int i = 0; i < z.Length; i++)
            y[i] = Apply(kind, parameter, z[i]);
    }

    // z (L), grad (L): dL/dy in, dL/dz = dL/dy f'(z) out
    public static void Backward<T>(ActivationKind kind, T parameter, ReadOnlySpan<T> z, Span<T> grad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths($"{kind} backward", (nameof(grad), grad.Length, z.Length));
        for (int i = 0; i < z.Length; i++)
            grad[i] *= Derivative(kind, parameter, z[i]);
    }

    private static T Sigmoid<T>(T z)
        where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-z));

    /// <summary>Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal distribution function.</summary>
    public static double NormalCdf(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    /// <summary>
    /// The error function to double precision (.NET has none): 2/sqrt(pi) e^(-x^2) sum over n of
    /// (2x^2)^n x / (1 3 5 ... (2n + 1)) (Abramowitz and Stegun 7.1.6), whose terms are all positive, so
    /// that nothing cancels; beyond |x| = 6, erf is 1 to within 2e-17.
    /// </summary>
    public static double Erf(double x)
    {
        double a = Math.Abs(x);
        if (double.IsNaN(x))
            return double.NaN;
        if (a >= 6)
            return Math.Sign(x);
        double twoSquared = 2 * a * a, term = a, sum = a;
        for (int n = 1; term > sum * 1e-17; n++)
        {
            term *= twoSquared / (2 * n + 1);
            sum += term;
        }
        return Math.CopySign(2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a) * sum, x);
    }
}

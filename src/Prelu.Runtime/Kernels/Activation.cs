namespace Prelu.Kernels;

/// <summary>
/// The activations a convolution or dense layer can fuse into its epilogue, and that an activation layer
/// applies on its own. The numbers are part of the C ABI (prelu.h) and of the OpenCL kernels (common.cl).
/// Every kind but PReLU is a function of one element whose derivative the backward computes from the
/// kept pre-activation z.
/// </summary>
public enum ActivationKind
{
    /// <summary>f(x) = x.</summary>
    Linear = 0,
    /// <summary>max(x, 0).</summary>
    Relu = 1,
    /// <summary>x, or slope times x below zero.</summary>
    LeakyRelu = 2,
    /// <summary>x, or a learned alpha times x below zero.</summary>
    PRelu = 3,
    /// <summary>1 / (1 + e^-x).</summary>
    Sigmoid = 4,
    /// <summary>tanh(x).</summary>
    Tanh = 5,
    /// <summary>x, or alpha (e^x - 1) below zero.</summary>
    Elu = 6,
    /// <summary>Keras's selu: scale times elu with its fixed alpha.</summary>
    Selu = 7,
    /// <summary>x times the normal distribution's CDF at x (exact, with erf).</summary>
    Gelu = 8,
    /// <summary>ln(1 + e^x).</summary>
    Softplus = 9,
    /// <summary>x times sigmoid(x) (also called silu).</summary>
    Swish = 10,
}

/// <summary>
/// An activation fused after a convolution or dense layer (or an activation layer's own). For PReLU,
/// <see cref="PRelu"/> describes the alphas over the layer's output (batch and feature shape must match
/// the layer's output).
/// </summary>
/// <param name="Kind">Which activation.</param>
/// <param name="Parameter">The activation's fixed constant: LeakyReLU's negative slope, ELU's alpha; unused by the others.</param>
/// <param name="PRelu">PReLU's alphas over the layer's output; null for every other kind.</param>
public sealed record FusedActivation(ActivationKind Kind, float Parameter = 0.3f, PReluShape? PRelu = null)
{
    /// <summary>No activation.</summary>
    public static FusedActivation Linear { get; } = new(ActivationKind.Linear);
    /// <summary>ReLU.</summary>
    public static FusedActivation Relu { get; } = new(ActivationKind.Relu);

    /// <summary>LeakyReLU with its negative <paramref name="slope"/>.</summary>
    public static FusedActivation Leaky(float slope) => new(ActivationKind.LeakyRelu, slope);

    /// <summary>ELU with its <paramref name="alpha"/>.</summary>
    public static FusedActivation Elu(float alpha = 1f) => new(ActivationKind.Elu, alpha);

    /// <summary>An activation without a learned or fixed parameter (ReLU, sigmoid, tanh, SELU, GELU, softplus, swish, linear).</summary>
    public static FusedActivation Of(ActivationKind kind) =>
        kind is ActivationKind.PRelu or ActivationKind.LeakyRelu or ActivationKind.Elu
            ? throw new ArgumentException($"{kind} takes a parameter: use Parametric, Leaky or Elu", nameof(kind))
            : new(kind);

    /// <summary>PReLU whose alphas cover the layer's output as <paramref name="shape"/> says.</summary>
    public static FusedActivation Parametric(PReluShape shape) => new(ActivationKind.PRelu, PRelu: shape);

    internal void CheckCovers(int batch, int featureLength, string layer)
    {
        if (Kind != ActivationKind.PRelu)
            return;
        if (PRelu is null)
            throw new ArgumentException($"{layer}: a fused PReLU needs its PReluShape");
        if (PRelu.Batch != batch || PRelu.FeatureLength != featureLength)
        {
            throw new ArgumentException(
                $"{layer}: the fused PReLU covers {PRelu.Batch} x {PRelu.FeatureLength} elements, the layer's output is {batch} x {featureLength}");
        }
    }
}

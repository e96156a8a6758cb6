namespace Prelu.Kernels;

/// <summary>
/// The activations a convolution or dense layer can fuse into its epilogue, and that an activation layer
/// applies on its own. The numbers are part of the C ABI (prelu.h) and of the OpenCL kernels (common.cl).
/// Every kind but PReLU is a function of one element whose derivative the backward computes from the
/// kept pre-activation z.
/// </summary>
public enum ActivationKind
{
    Linear = 0,
    Relu = 1,
    LeakyRelu = 2,
    PRelu = 3,
    Sigmoid = 4,
    Tanh = 5,
    Elu = 6,
    Selu = 7,
    Gelu = 8,
    Softplus = 9,
    Swish = 10,
}

/// <summary>
/// An activation fused after a convolution or dense layer (or an activation layer's own). For PReLU,
/// <see cref="PRelu"/> describes the alphas over the layer's output (batch and feature shape must match
/// the layer's output).
/// </summary>
/// <param name="Parameter">The activation's fixed constant: LeakyReLU's negative slope, ELU's alpha; unused by the others.</param>
public sealed record FusedActivation(ActivationKind Kind, float Parameter = 0.3f, PReluShape? PRelu = null)
{
    public static FusedActivation Linear { get; } = new(ActivationKind.Linear);
    public static FusedActivation Relu { get; } = new(ActivationKind.Relu);

    public static FusedActivation Leaky(float slope) => new(ActivationKind.LeakyRelu, slope);

    public static FusedActivation Elu(float alpha = 1f) => new(ActivationKind.Elu, alpha);

    /// <summary>An activation without a learned or fixed parameter (ReLU, sigmoid, tanh, SELU, GELU, softplus, swish, linear).</summary>
    public static FusedActivation Of(ActivationKind kind) =>
        kind is ActivationKind.PRelu or ActivationKind.LeakyRelu or ActivationKind.Elu
            ? throw new ArgumentException($"{kind} takes a parameter: use Parametric, Leaky or Elu", nameof(kind))
            : new(kind);

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

namespace Prelu.Kernels;

/// <summary>The activations a convolution or dense layer can fuse into its epilogue.</summary>
public enum ActivationKind
{
    Linear,
    Relu,
    LeakyRelu,
    PRelu,
}

/// <summary>
/// An activation fused after a convolution or dense layer. For PReLU, <see cref="PRelu"/> describes
/// the alphas over the layer's output (batch and feature shape must match the layer's output).
/// </summary>
public sealed record FusedActivation(ActivationKind Kind, float LeakyAlpha = 0.3f, PReluShape? PRelu = null)
{
    public static FusedActivation Linear { get; } = new(ActivationKind.Linear);
    public static FusedActivation Relu { get; } = new(ActivationKind.Relu);

    public static FusedActivation Leaky(float alpha) => new(ActivationKind.LeakyRelu, alpha);

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

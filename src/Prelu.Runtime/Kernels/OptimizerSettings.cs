namespace Prelu.Kernels;

/// <summary>Adam with Keras's defaults (learning rate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7).</summary>
public readonly record struct AdamSettings(float LearningRate = 0.001f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-7f)
{
    public AdamSettings() : this(0.001f)
    {
    }

    /// <summary>
    /// Keras's step size at <paramref name="step"/> (1 for the first update), in float32 as Keras computes
    /// it: lr * sqrt(1 - beta2^t) / (1 - beta1^t). Keras adds epsilon to sqrt(v) before this correction,
    /// unlike the Adam paper and PyTorch, which correct v first.
    /// </summary>
    public float StepSize(long step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        float beta1Power = MathF.Pow(Beta1, step);
        float beta2Power = MathF.Pow(Beta2, step);
        return LearningRate * MathF.Sqrt(1f - beta2Power) / (1f - beta1Power);
    }
}

/// <summary>SGD as Keras computes it: plain, with momentum, or with Nesterov momentum.</summary>
public readonly record struct SgdSettings(float LearningRate = 0.01f, float Momentum = 0f, bool Nesterov = false)
{
    public SgdSettings() : this(0.01f)
    {
    }
}

/// <summary>A weight penalty, Keras's L1, L2 and L1L2: l1 * sum(|w|) + l2 * sum(w^2), added to the loss.</summary>
public readonly record struct Regularizer(float L1, float L2);

/// <summary>Keras's weight constraints, applied to a parameter after each update.</summary>
public enum ConstraintKind
{
    NonNeg,
    MaxNorm,
    MinMaxNorm,
    UnitNorm,
}

/// <summary>
/// A constraint with Keras's arguments. Norms are taken over <see cref="Axes"/> (0-based axes of the
/// parameter's shape, Keras's <c>axis</c>; default 0): for a Conv2D kernel (KH, KW, Cin, Cout) Keras
/// recommends [0, 1, 2], one norm per filter.
/// </summary>
public sealed record Constraint(ConstraintKind Kind, float MinValue = 0f, float MaxValue = 2f, float Rate = 1f, IReadOnlyList<int>? Axes = null)
{
    /// <summary>Keras's backend epsilon, added to norms before dividing.</summary>
    public const float Epsilon = 1e-7f;

    public static Constraint NonNeg { get; } = new(ConstraintKind.NonNeg);

    public static Constraint MaxNorm(float maxValue = 2f, params int[] axes) => new(ConstraintKind.MaxNorm, MaxValue: maxValue, Axes: axes.Length == 0 ? [0] : axes);

    public static Constraint MinMaxNorm(float minValue = 0f, float maxValue = 1f, float rate = 1f, params int[] axes) =>
        new(ConstraintKind.MinMaxNorm, minValue, maxValue, rate, axes.Length == 0 ? [0] : axes);

    public static Constraint UnitNorm(params int[] axes) => new(ConstraintKind.UnitNorm, Axes: axes.Length == 0 ? [0] : axes);

    public IReadOnlyList<int> NormAxes => Axes ?? [0];
}

namespace Prelu.Kernels;

/// <summary>A weight penalty, Keras's L1, L2 and L1L2: l1 * sum(|w|) + l2 * sum(w^2), added to the loss.</summary>
public readonly record struct Regularizer(float L1, float L2);

/// <summary>Keras's weight constraints, applied to a parameter after each update.</summary>
public enum ConstraintKind
{
    /// <summary>Keras's "non_neg": negative values set to zero.</summary>
    NonNeg,
    /// <summary>Keras's "max_norm": norms above the maximum scaled down to it.</summary>
    MaxNorm,
    /// <summary>Keras's "min_max_norm": norms moved into [min, max] at a rate.</summary>
    MinMaxNorm,
    /// <summary>Keras's "unit_norm": norms scaled to 1.</summary>
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

    /// <summary>Keras's NonNeg.</summary>
    public static Constraint NonNeg { get; } = new(ConstraintKind.NonNeg);

    /// <summary>Keras's MaxNorm(max_value, axis).</summary>
    public static Constraint MaxNorm(float maxValue = 2f, params int[] axes) => new(ConstraintKind.MaxNorm, MaxValue: maxValue, Axes: axes.Length == 0 ? [0] : axes);

    /// <summary>Keras's MinMaxNorm(min_value, max_value, rate, axis).</summary>
    public static Constraint MinMaxNorm(float minValue = 0f, float maxValue = 1f, float rate = 1f, params int[] axes) =>
        new(ConstraintKind.MinMaxNorm, minValue, maxValue, rate, axes.Length == 0 ? [0] : axes);

    /// <summary>Keras's UnitNorm(axis).</summary>
    public static Constraint UnitNorm(params int[] axes) => new(ConstraintKind.UnitNorm, Axes: axes.Length == 0 ? [0] : axes);

    /// <summary>The axes norms are taken over (axis 0 when none was given).</summary>
    public IReadOnlyList<int> NormAxes => Axes ?? [0];
}

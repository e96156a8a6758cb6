namespace Prelu.Generators.Model;

/// <summary>The initializers a tensor can be drawn from (Keras's names in snake case).</summary>
public enum InitializerKind
{
    Zeros,
    Ones,
    Constant,
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunUniform,
    LecunNormal,
    RandomUniform,
    RandomNormal,
    TruncatedNormal,
}

/// <summary>
/// An initializer with its arguments: <see cref="A"/> is Constant's value, RandomUniform's minval, the
/// normal distributions' mean; <see cref="B"/> is RandomUniform's maxval, the normal distributions' stddev.
/// </summary>
public sealed record InitializerSpec(InitializerKind Kind, double A = 0, double B = 0);

/// <summary>An L1/L2 penalty: l1 sum |w| + l2 sum w^2.</summary>
public sealed record RegularizerSpec(double L1, double L2);

/// <summary>The weight constraints Keras offers.</summary>
public enum ConstraintKind
{
    NonNeg,
    MaxNorm,
    MinMaxNorm,
    UnitNorm,
}

/// <summary>A constraint with its arguments; <see cref="Axes"/> are the norm's axes, resolved against the tensor's rank.</summary>
public sealed record ConstraintSpec(ConstraintKind Kind, double MinValue, double MaxValue, double Rate, EquatableArray<int> Axes);

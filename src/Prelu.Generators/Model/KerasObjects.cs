using System;
using System.Globalization;
using System.Linq;

namespace Prelu.Generators.Model;

/// <summary>Reads initializer, regularizer and constraint strings, as Keras names them, into typed specs.</summary>
internal static class KerasObjects
{
    // Keras's default axis for the norm constraints.
    private static readonly int[] AxisZero = { 0 };

    /// <summary>The initializer named by <paramref name="text"/>, or null and why.</summary>
    public static InitializerSpec? Initializer(string text, out string? error)
    {
        var call = KerasCall.Parse(text, out error);
        if (call is null)
            return null;
        try
        {
            switch (call.Name)
            {
                case "zeros":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.Zeros);
                case "ones":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.Ones);
                case "constant":
                    call.Expect("value");
                    return new InitializerSpec(InitializerKind.Constant, call.Number(0, "value", 0));
                case "glorot_uniform":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.GlorotUniform);
                case "glorot_normal":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.GlorotNormal);
                case "he_uniform":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.HeUniform);
                case "he_normal":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.HeNormal);
                case "lecun_uniform":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.LecunUniform);
                case "lecun_normal":
                    call.Expect();
                    return new InitializerSpec(InitializerKind.LecunNormal);
                case "random_uniform":
                    call.Expect("minval", "maxval");
                    return new InitializerSpec(InitializerKind.RandomUniform, call.Number(0, "minval", -0.05), call.Number(1, "maxval", 0.05));
                case "random_normal":
                    call.Expect("mean", "stddev");
                    return new InitializerSpec(InitializerKind.RandomNormal, call.Number(0, "mean", 0), call.Number(1, "stddev", 0.05));
                case "truncated_normal":
                    call.Expect("mean", "stddev");
                    return new InitializerSpec(InitializerKind.TruncatedNormal, call.Number(0, "mean", 0), call.Number(1, "stddev", 0.05));
                default:
                    error = "unknown name";
                    return null;
            }
        }
        catch (FormatException e)
        {
            error = $"{call.Name} {e.Message}";
            return null;
        }
    }

    public static RegularizerSpec? Regularizer(string text, out string? error)
    {
        var call = KerasCall.Parse(text, out error);
        if (call is null)
            return null;
        try
        {
            switch (call.Name)
            {
                case "l1":
                    call.Expect("l1");
                    return new RegularizerSpec(Positive(call.Number(0, "l1", 0.01)), 0);
                case "l2":
                    call.Expect("l2");
                    return new RegularizerSpec(0, Positive(call.Number(0, "l2", 0.01)));
                case "l1_l2":
                    call.Expect("l1", "l2");
                    return new RegularizerSpec(Positive(call.Number(0, "l1", 0.01)), Positive(call.Number(1, "l2", 0.01)));
                default:
                    error = "unknown regularizer";
                    return null;
            }
        }
        catch (FormatException e)
        {
            error = $"{call.Name} {e.Message}";
            return null;
        }
    }

    /// <summary>A constraint on a tensor of rank <paramref name="rank"/>.</summary>
    public static ConstraintSpec? Constraint(string text, int rank, out string? error)
    {
        var call = KerasCall.Parse(text, out error);
        if (call is null)
            return null;
        try
        {
            switch (call.Name)
            {
                case "non_neg":
                    call.Expect();
                    return new ConstraintSpec(ConstraintKind.NonNeg, 0, 0, 0, EquatableArray<int>.Empty);
                case "max_norm":
                    call.Expect("max_value", "axis");
                    return new ConstraintSpec(ConstraintKind.MaxNorm, 0, call.Number(0, "max_value", 2), 0, Axes(call.Axes(1, "axis", AxisZero), rank));
                case "min_max_norm":
                    call.Expect("min_value", "max_value", "rate", "axis");
                    return new ConstraintSpec(ConstraintKind.MinMaxNorm, call.Number(0, "min_value", 0), call.Number(1, "max_value", 1),
                        call.Number(2, "rate", 1), Axes(call.Axes(3, "axis", AxisZero), rank));
                case "unit_norm":
                    call.Expect("axis");
                    return new ConstraintSpec(ConstraintKind.UnitNorm, 0, 0, 0, Axes(call.Axes(0, "axis", AxisZero), rank));
                default:
                    error = "unknown constraint";
                    return null;
            }
        }
        catch (FormatException e)
        {
            error = $"{call.Name} {e.Message}";
            return null;
        }
    }

    private static EquatableArray<int> Axes(int[] axes, int rank)
    {
        // Keras accepts negative axes counted from the end.
        var resolved = axes.Select(a => a < 0 ? a + rank : a).ToArray();
        if (resolved.Any(a => a < 0 || a >= rank))
            throw new FormatException($"axis [{string.Join(", ", axes)}] is outside a parameter of rank {rank}");
        if (resolved.Distinct().Count() != resolved.Length)
            throw new FormatException($"axis [{string.Join(", ", axes)}] lists an axis twice");
        return resolved.ToEquatableArray();
    }

    private static double Positive(double value) =>
        value >= 0 ? value : throw new FormatException($"factor {value.ToString(CultureInfo.InvariantCulture)} must not be negative");
}

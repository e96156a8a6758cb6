using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>Weight penalties (added to gradients and to the loss) and constraints (applied after an update), as Keras defines them.</summary>
internal static class Regularization
{
    /// <summary>grad += l1 sign(w) + 2 l2 w; returns the penalty l1 sum|w| + l2 sum w^2.</summary>
    // param, grad: (L)
    public static T AddPenaltyGradient<T>(in Regularizer regularizer, ReadOnlySpan<T> param, Span<T> grad)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("regularizer", (nameof(grad), grad.Length, param.Length));
        T l1 = T.CreateChecked(regularizer.L1);
        T l2 = T.CreateChecked(regularizer.L2);
        T two = T.CreateChecked(2);
        T absSum = T.Zero, squareSum = T.Zero;
        for (int i = 0; i < param.Length; i++)
        {
            T w = param[i];
            absSum += T.Abs(w);
            squareSum += w * w;
            grad[i] += l1 * Sign(w) + two * l2 * w;
        }
        return l1 * absSum + l2 * squareSum;
    }

    // sign(w) as TensorFlow's: -1, 0 or 1, and NaN for NaN (T.Sign throws there; a NaN must reach the loss check, not crash).
    private static T Sign<T>(T w)
        where T : IFloatingPointIeee754<T> =>
        w > T.Zero ? T.One : w < T.Zero ? -T.One : w == T.Zero ? T.Zero : w;

    /// <summary>
    /// Applies <paramref name="constraint"/> to a parameter of shape <paramref name="dims"/>.
    /// NonNeg: w = max(w, 0). The norm constraints take n = sqrt(sum w^2) over the constraint's axes and
    /// scale: MaxNorm by clip(n, 0, max) / (eps + n); MinMaxNorm by (rate clip(n, min, max) + (1 - rate) n) / (eps + n);
    /// UnitNorm by 1 / (eps + n).
    /// </summary>
    public static void ApplyConstraint<T>(Constraint constraint, IReadOnlyList<int> dims, Span<T> param)
        where T : IFloatingPointIeee754<T>
    {
        if (constraint.Kind == ConstraintKind.NonNeg)
        {
            for (int i = 0; i < param.Length; i++)
                param[i] = param[i] >= T.Zero ? param[i] : T.Zero;
            return;
        }
        var groups = new AxisGroups(dims, constraint.NormAxes);
        Check.Lengths($"{constraint.Kind} constraint", (nameof(param), param.Length, groups.Length));
        var norms = new T[groups.GroupCount];
        var map = groups.GroupMap;
        for (int i = 0; i < param.Length; i++)
            norms[map[i]] += param[i] * param[i];
        T epsilon = T.CreateChecked(Constraint.Epsilon);
        T min = T.CreateChecked(constraint.MinValue), max = T.CreateChecked(constraint.MaxValue), rate = T.CreateChecked(constraint.Rate);
        var scales = new T[norms.Length];
        for (int g = 0; g < norms.Length; g++)
        {
            T norm = T.Sqrt(norms[g]);
            T desired = constraint.Kind switch
            {
                ConstraintKind.MaxNorm => T.Clamp(norm, T.Zero, max),
                ConstraintKind.MinMaxNorm => rate * T.Clamp(norm, min, max) + (T.One - rate) * norm,
                _ => T.One,
            };
            scales[g] = desired / (epsilon + norm);
        }
        for (int i = 0; i < param.Length; i++)
            param[i] *= scales[map[i]];
    }
}

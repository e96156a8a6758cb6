using System.Numerics;

namespace Prelu.Reference;

/// <summary>ReLU and LeakyReLU, element-wise over any shape. The derivative at 0 is taken as 0 (as TensorFlow and PyTorch do).</summary>
internal static class Relu
{
    // x (L) -> y (L)
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("ReLU forward", (nameof(y), y.Length, x.Length));
        for (int i = 0; i < x.Length; i++)
            y[i] = x[i] > T.Zero ? x[i] : T.Zero;
    }

    // x (L), dy (L) -> dx (L); dx may be dy
    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("ReLU backward", (nameof(dy), dy.Length, x.Length), (nameof(dx), dx.Length, x.Length));
        for (int i = 0; i < x.Length; i++)
            dx[i] = x[i] > T.Zero ? dy[i] : T.Zero;
    }

    // x (L) -> y (L) = x > 0 ? x : alpha * x
    public static void LeakyForward<T>(T alpha, ReadOnlySpan<T> x, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("LeakyReLU forward", (nameof(y), y.Length, x.Length));
        for (int i = 0; i < x.Length; i++)
            y[i] = x[i] > T.Zero ? x[i] : alpha * x[i];
    }

    // x (L), dy (L) -> dx (L) = x > 0 ? dy : alpha * dy; dx may be dy
    public static void LeakyBackward<T>(T alpha, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("LeakyReLU backward", (nameof(dy), dy.Length, x.Length), (nameof(dx), dx.Length, x.Length));
        for (int i = 0; i < x.Length; i++)
            dx[i] = x[i] > T.Zero ? dy[i] : alpha * dy[i];
    }
}

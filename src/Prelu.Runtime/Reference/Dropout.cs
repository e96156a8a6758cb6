using System.Numerics;

namespace Prelu.Reference;

/// <summary>
/// Inverted dropout: at training time each element is kept with probability 1 - rate and scaled by
/// 1 / (1 - rate); at inference it is the identity (the caller skips it). The mask is kept for backward.
/// </summary>
internal static class Dropout
{
    // x (L) -> mask (L) in {0, 1 / (1 - rate)}, y (L) = x * mask
    public static void Forward<T>(float rate, ulong seed, ulong step, ReadOnlySpan<T> x, Span<T> mask, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Dropout forward", (nameof(mask), mask.Length, x.Length), (nameof(y), y.Length, x.Length));
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "Dropout: rate must be in [0, 1)");
        T scale = T.One / (T.One - T.CreateChecked(rate));
        uint @base = DropoutRandom.Base(seed, step);
        for (int i = 0; i < x.Length; i++)
        {
            mask[i] = DropoutRandom.Uniform(@base, (uint)i) >= rate ? scale : T.Zero;
            y[i] = x[i] * mask[i];
        }
    }

    // mask (L), dy (L) -> dx (L) = dy * mask; dx may be dy
    public static void Backward<T>(ReadOnlySpan<T> mask, ReadOnlySpan<T> dy, Span<T> dx)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Dropout backward", (nameof(dy), dy.Length, mask.Length), (nameof(dx), dx.Length, mask.Length));
        for (int i = 0; i < mask.Length; i++)
            dx[i] = dy[i] * mask[i];
    }
}

/// <summary>
/// The random numbers behind dropout masks: a counter-based hash of (seed, step, element), so that
/// every backend (C with threads and SIMD, OpenCL work-items) draws the very same mask in any order,
/// and a run is reproducible to the bit. 32-bit arithmetic (murmur3's finaliser) so that the C kernel
/// vectorises it.
/// </summary>
internal static class DropoutRandom
{
    /// <summary>What (seed, step) contribute, the same for every element of a mask.</summary>
    public static uint Base(ulong seed, ulong step) =>
        (uint)seed * 0x9E3779B1u ^ (uint)(seed >> 32) * 0x85EBCA77u ^ (uint)step * 0xC2B2AE3Du ^ (uint)(step >> 32) * 0x27D4EB2Fu;

    /// <summary>A float in [0, 1) with 24 random bits.</summary>
    public static float Uniform(ulong seed, ulong step, ulong index) => Uniform(Base(seed, step), (uint)index);

    public static float Uniform(uint @base, uint index)
    {
        uint h = @base ^ index * 0x165667B1u;
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return (h >> 8) * (1f / (1 << 24));
    }
}

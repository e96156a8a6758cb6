using System.Numerics;
using Prelu.Reference;

namespace Prelu.Simd;

/// <summary>
/// Inverted dropout with the reference's counter-based mask (<see cref="DropoutRandom"/>), the hash
/// computed for a vector of element indices at once: the same mask to the bit as every other backend.
/// </summary>
internal static class Dropout
{
    // x (L) -> mask (L) in {0, 1 / (1 - rate)}, y (L) = x * mask
    public static void Forward(float rate, ulong seed, ulong step, ReadOnlySpan<float> x, Span<float> mask, Span<float> y)
    {
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "Dropout: rate must be in [0, 1)");
        float scale = 1f / (1f - rate);
        uint @base = DropoutRandom.Base(seed, step);
        int width = Vector<uint>.Count, i = 0;
        Span<uint> offsets = stackalloc uint[width];
        for (int k = 0; k < width; k++)
            offsets[k] = (uint)k;
        var lane = new Vector<uint>(offsets);
        for (; i <= x.Length - width; i += width)
        {
            var h = new Vector<uint>(@base) ^ (lane + new Vector<uint>((uint)i)) * 0x165667B1u;
            h ^= Vector.ShiftRightLogical(h, 16);
            h *= 0x85EBCA6Bu;
            h ^= Vector.ShiftRightLogical(h, 13);
            h *= 0xC2B2AE35u;
            h ^= Vector.ShiftRightLogical(h, 16);
            var uniform = Vector.ConvertToSingle(Vector.ShiftRightLogical(h, 8)) * (1f / (1 << 24));
            var m = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(uniform, new Vector<float>(rate)), new Vector<float>(scale), Vector<float>.Zero);
            m.CopyTo(mask[i..]);
            (new Vector<float>(x[i..]) * m).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++)
        {
            mask[i] = DropoutRandom.Uniform(@base, (uint)i) >= rate ? scale : 0f;
            y[i] = x[i] * mask[i];
        }
    }
}

using System.Text;

namespace Prelu.Tests.Shared;

/// <summary>
/// Seeded mutational fuzzing of file readers: each case takes a valid file and damages it one way (bit
/// flips, a byte or a 4- or 8-byte field set to an extreme, truncation, trailing bytes, a splice of
/// invalid UTF-8 or broken JSON into a text region), writes it, and hands it to the reader. The outcome
/// must be a load or the reader's documented exception naming the file; anything else fails the test
/// with the seed and the mutation, so that the case can be replayed.
/// </summary>
public sealed class Fuzz(int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>Where text lives in the file (a JSON header), for the text mutations; empty when none.</summary>
    public (int Start, int Length) TextRegion { get; init; }

    /// <summary>Offsets of binary fields (lengths, dimensions) worth setting to extremes.</summary>
    public IReadOnlyList<int> FieldOffsets { get; init; } = [];

    public (byte[] Bytes, string Mutation) Mutate(byte[] valid)
    {
        var bytes = (byte[])valid.Clone();
        int kind = _random.Next(TextRegion.Length > 0 ? 9 : 7);
        switch (kind)
        {
            case 0:
            {
                int flips = _random.Next(1, 9);
                for (int i = 0; i < flips; i++)
                    bytes[_random.Next(bytes.Length)] ^= (byte)(1 << _random.Next(8));
                return (bytes, $"{flips} bit flips");
            }
            case 1:
            {
                int at = _random.Next(bytes.Length);
                bytes[at] = Extremes8[_random.Next(Extremes8.Length)];
                return (bytes, $"byte {at} set to 0x{bytes[at]:X2}");
            }
            case 2:
            case 3:
            {
                int at = FieldOffsets.Count > 0 && _random.Next(4) > 0 ? FieldOffsets[_random.Next(FieldOffsets.Count)] : _random.Next(bytes.Length);
                int width = kind == 2 ? 4 : 8;
                if (at + width > bytes.Length)
                    at = Math.Max(0, bytes.Length - width);
                var value = Extremes64[_random.Next(Extremes64.Length)];
                for (int i = 0; i < width && at + i < bytes.Length; i++)
                    bytes[at + i] = (byte)(value >> (8 * (_random.Next(2) == 0 ? i : width - 1 - i)));
                return (bytes, $"{width}-byte field at {at} set to 0x{value:X}");
            }
            case 4:
            {
                int length = _random.Next(bytes.Length);
                return (bytes[..length], $"truncated to {length} bytes");
            }
            case 5:
            {
                var tail = new byte[_random.Next(1, 64)];
                _random.NextBytes(tail);
                return ([.. bytes, .. tail], $"{tail.Length} trailing bytes");
            }
            case 6:
            {
                int at = _random.Next(bytes.Length);
                int length = Math.Min(_random.Next(1, 16), bytes.Length - at);
                _random.NextBytes(bytes.AsSpan(at, length));
                return (bytes, $"{length} random bytes at {at}");
            }
            case 7:
            {
                int at = TextRegion.Start + _random.Next(TextRegion.Length);
                var bad = InvalidUtf8[_random.Next(InvalidUtf8.Length)];
                for (int i = 0; i < bad.Length && at + i < bytes.Length; i++)
                    bytes[at + i] = bad[i];
                return (bytes, $"invalid UTF-8 {Convert.ToHexString(bad)} at {at}");
            }
            default:
            {
                int at = TextRegion.Start + _random.Next(TextRegion.Length);
                var text = Encoding.ASCII.GetBytes(JsonBreakers[_random.Next(JsonBreakers.Length)]);
                for (int i = 0; i < text.Length && at + i < bytes.Length; i++)
                    bytes[at + i] = text[i];
                return (bytes, $"JSON text '{Encoding.ASCII.GetString(text)}' at {at}");
            }
        }
    }

    private static readonly byte[] Extremes8 = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF];

    private static readonly ulong[] Extremes64 =
        [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue];

    private static readonly byte[][] InvalidUtf8 = [[0xC3, 0x28], [0xE2, 0x28, 0xA1], [0xF0, 0x28, 0x8C, 0x28], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80]];

    private static readonly string[] JsonBreakers =
        ["{", "}", "\"", ",", ":", "[", "]", "99999999999999999999", "-1", "1e308", "null", "true", "\"F64\"", "\\u0000", "\"__metadata__\":1,"];
}

/// <summary>What a fuzz run found: loads, refusals, and the first unexpected outcome.</summary>
public sealed class FuzzTally
{
    public int Cases { get; private set; }
    public int Loaded { get; private set; }
    public int Refused { get; private set; }

    /// <summary>
    /// Runs one case: <paramref name="read"/> must load or throw <typeparamref name="TRefusal"/> (or one of
    /// <paramref name="alsoRefusals"/>) whose message names <paramref name="path"/>; it may allocate at most
    /// <paramref name="allocationBound"/> bytes.
    /// </summary>
    public void Run<TRefusal>(string path, string mutation, Action read, long allocationBound, params Type[] alsoRefusals)
        where TRefusal : Exception
    {
        Cases++;
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            read();
            Loaded++;
        }
        catch (Exception e) when (e is TRefusal || alsoRefusals.Contains(e.GetType()))
        {
            Refused++;
            if (!e.Message.Contains(path, StringComparison.Ordinal))
                throw new Xunit.Sdk.XunitException($"case {Cases} ({mutation}): the refusal does not name the file: {e.Message}");
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"case {Cases} ({mutation}): {e.GetType().Name} escaped instead of {typeof(TRefusal).Name}: {e}");
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > allocationBound)
            throw new Xunit.Sdk.XunitException($"case {Cases} ({mutation}): allocated {allocated:N0} bytes reading a file that warrants at most {allocationBound:N0}");
    }

    public override string ToString() => $"{Cases:N0} cases: {Loaded:N0} loaded, {Refused:N0} refused with a message naming the file";
}

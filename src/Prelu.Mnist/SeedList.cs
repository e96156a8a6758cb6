using System.Globalization;

namespace Prelu.Mnist;

/// <summary>The seeds a study runs: --seed alone, a count of consecutive seeds from it, or a list.</summary>
public static class SeedList
{
    /// <summary>
    /// "5" is five seeds from <paramref name="first"/>; "1,2,3" is those seeds; none is <paramref name="first"/> alone.
    /// On a bad value, <paramref name="error"/> says what was expected and the result is empty.
    /// </summary>
    public static IReadOnlyList<ulong> Parse(string? value, ulong first, out string? error)
    {
        error = null;
        if (value is null)
            return [first];
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 1)
        {
            if (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count >= 1 && count <= 1000)
                return Enumerable.Range(0, count).Select(i => first + (ulong)i).ToList();
            error = $"--seeds: '{value}' is neither a count from 1 to 1000 nor a comma-separated list of seeds (1,2,3)";
            return [];
        }
        var seeds = new List<ulong>();
        foreach (var part in parts)
        {
            if (!ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
            {
                error = $"--seeds: '{part}' in '{value}' is not a seed (a whole number from 0 to {ulong.MaxValue})";
                return [];
            }
            if (seeds.Contains(seed))
            {
                error = $"--seeds: seed {seed} appears twice in '{value}'";
                return [];
            }
            seeds.Add(seed);
        }
        return seeds;
    }
}

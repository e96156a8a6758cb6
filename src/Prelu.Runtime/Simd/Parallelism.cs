namespace Prelu.Simd;

/// <summary>
/// Work split into a fixed number of contiguous ranges, one task each. The split depends only on the item
/// count and the thread count, so per-range partial sums added in range order give the same bits on
/// every run with the same threads.
/// </summary>
internal static class Parallelism
{
    /// <summary>Runs body(range, start, end) for <paramref name="ranges"/> ranges covering [0, count), each a multiple of <paramref name="granule"/> except the last.</summary>
    public static void ForRanges(int count, int ranges, Action<int, int, int> body, int granule = 1)
    {
        int per = (count + ranges - 1) / ranges;
        per = (per + granule - 1) / granule * granule;
        int used = per == 0 ? 0 : (count + per - 1) / per;
        if (used <= 1)
        {
            if (count > 0)
                body(0, 0, count);
            return;
        }
        Parallel.For(0, used, new ParallelOptions { MaxDegreeOfParallelism = used }, range =>
            body(range, range * per, Math.Min(count, (range + 1) * per)));
    }

    /// <summary>The number of ranges <see cref="ForRanges"/> makes: where partial results are kept per range.</summary>
    public static int RangeCount(int count, int ranges, int granule = 1)
    {
        int per = (count + ranges - 1) / ranges;
        per = (per + granule - 1) / granule * granule;
        return per == 0 ? 0 : (count + per - 1) / per;
    }
}

/// <summary>How the SIMD backend runs its GEMMs: threads per operation, and the micro-kernel's vector width in bits.</summary>
internal readonly record struct SimdSettings(int Threads, int VectorBits);

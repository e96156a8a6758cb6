using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Prelu.Benchmarks;

/// <summary>
/// A second peak-FMA probe, independent of benchmarks/probe/fma_peak.c: another language, another compiler
/// (RyuJIT), other chain counts. Each thread runs independent chains a = a * m + c that start from distinct
/// values known only at run time; 12 chains of 256 bits (with m and c, 14 of the 16 ymm registers) and 16
/// of 512 bits both exceed FMA latency x pipes (4 x 2). The C probe is the figure the docs use; this one
/// checks it (`Prelu.Benchmarks peak`), and its time must scale with the iterations (printed).
/// </summary>
internal static class PeakProbe
{
    private const int Chains256 = 12, Chains512 = 16;

    public static int Run(long iterations)
    {
        foreach (var line in Measure(iterations))
            Console.WriteLine(line);
        return 0;
    }

    /// <summary>One line per vector width and thread count (1, every core), in the C probe's words.</summary>
    public static List<string> Measure(long iterations = 100_000_000)
    {
        var lines = Report("Vector256", Chains256, Vector256<float>.Count, Run256, iterations);
        if (Vector512.IsHardwareAccelerated)
            lines.AddRange(Report("Vector512", Chains512, Vector512<float>.Count, Run512, iterations));
        else
            lines.Add("managed peak Vector512: not hardware-accelerated on this CPU");
        return lines;
    }

    private static List<string> Report(string name, int chains, int lanes, Func<long, float, float, float> run, long iterations)
    {
        run(1000, 1f, 1e-3f); // compiled before it is timed
        var lines = new List<string>();
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
        {
            double half = Best(run, threads, iterations / 2), full = Best(run, threads, iterations);
            double gflops = (double)threads * iterations * chains * lanes * 2 / full / 1e9;
            lines.Add($"managed peak {name} ({chains} chains of {lanes} lanes), {threads} thread{(threads == 1 ? "" : "s")}: " +
                $"{gflops:F1} GFLOP/s (time for 2x the iterations: {full / half:F2}x)");
        }
        return lines;
    }

    // The best of five runs, in seconds, of `threads` threads each running the chains: a shared machine only slows a run down.
    private static double Best(Func<long, float, float, float> run, int threads, long iterations)
    {
        double best = double.MaxValue;
        float sink = 0;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var clock = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => Volatile.Write(ref sink, run(iterations, 1f + t, 1e-3f)))).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        GC.KeepAlive(sink);
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Run256(long iterations, float start, float step)
    {
        var m = Vector256.Create(1f - step * 1e-3f);
        var c = Vector256.Create(step * 1e-4f);
        var a0 = Vector256.Create(start + step * 0); var a1 = Vector256.Create(start + step * 1); var a2 = Vector256.Create(start + step * 2); var a3 = Vector256.Create(start + step * 3);
        var a4 = Vector256.Create(start + step * 4); var a5 = Vector256.Create(start + step * 5); var a6 = Vector256.Create(start + step * 6); var a7 = Vector256.Create(start + step * 7);
        var a8 = Vector256.Create(start + step * 8); var a9 = Vector256.Create(start + step * 9); var a10 = Vector256.Create(start + step * 10); var a11 = Vector256.Create(start + step * 11);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c); a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c); a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c); a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Run512(long iterations, float start, float step)
    {
        var m = Vector512.Create(1f - step * 1e-3f);
        var c = Vector512.Create(step * 1e-4f);
        var a0 = Vector512.Create(start + step * 0); var a1 = Vector512.Create(start + step * 1); var a2 = Vector512.Create(start + step * 2); var a3 = Vector512.Create(start + step * 3);
        var a4 = Vector512.Create(start + step * 4); var a5 = Vector512.Create(start + step * 5); var a6 = Vector512.Create(start + step * 6); var a7 = Vector512.Create(start + step * 7);
        var a8 = Vector512.Create(start + step * 8); var a9 = Vector512.Create(start + step * 9); var a10 = Vector512.Create(start + step * 10); var a11 = Vector512.Create(start + step * 11);
        var a12 = Vector512.Create(start + step * 12); var a13 = Vector512.Create(start + step * 13); var a14 = Vector512.Create(start + step * 14); var a15 = Vector512.Create(start + step * 15);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c); a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c); a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c); a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
            a12 = Vector512.FusedMultiplyAdd(a12, m, c); a13 = Vector512.FusedMultiplyAdd(a13, m, c); a14 = Vector512.FusedMultiplyAdd(a14, m, c); a15 = Vector512.FusedMultiplyAdd(a15, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15);
    }
}

using System.Diagnostics;
using System.Globalization;
using Prelu.Mnist.Models;

namespace Prelu.Benchmarks;

/// <summary>
/// `serve`: one model's Predict called from 1, 2, ... threads at once, as a web app's request threads call it: the
/// images per second of each caller count, and its ratio to one caller. The study's PReLU model, random pixels, each
/// caller its own inputs. Callers and kernel threads compete for the same cores, so the figure to watch is the ratio
/// at one kernel thread per call (--threads 1), a server's setting, as well as at the backend's default.
/// </summary>
internal static class ServeTiming
{
    public static int Run(string backendName, int threads, double seconds, int[] callers, int[] batches)
    {
        using var backend = BackendChoice.Create(backendName, threads);
        Console.WriteLine($"serve {backendName}: {BackendChoice.Describe(backend)}, {threads} kernel thread(s) per call, {Environment.ProcessorCount} cores, {seconds:F0} s per figure");
        foreach (int batch in batches)
        {
            using var model = new StudyPRelu(backend, batch);
            model.Initialize(1);
            double one = 0;
            foreach (int count in callers)
            {
                Rate(model, batch, count, Math.Min(1, seconds)); // warm: workspaces for this many callers, caches
                double rate = Rate(model, batch, count, seconds);
                if (count == callers[0])
                    one = rate / count;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"batch {batch}, {count} caller(s): {rate:N0} images/s, {rate / one:F2} x one caller's"));
            }
        }
        return 0;
    }

    // Images per second over `seconds` with `callers` threads each calling Predict on its own inputs in a loop.
    private static double Rate(CompiledModel model, int batch, int callers, double seconds)
    {
        long images = 0;
        using var start = new Barrier(callers + 1);
        var stopAt = 0L;
        var threads = Enumerable.Range(0, callers).Select(c => new Thread(() =>
        {
            var random = new Random(c);
            var pixels = Enumerable.Range(0, batch * model.InputLength).Select(_ => random.NextSingle()).ToArray();
            var probabilities = new float[batch * model.OutputLength];
            long done = 0;
            start.SignalAndWait();
            while (Stopwatch.GetTimestamp() < Volatile.Read(ref stopAt))
            {
                model.Predict(pixels, probabilities);
                done += batch;
            }
            Interlocked.Add(ref images, done);
        })).ToList();
        threads.ForEach(t => t.Start());
        long begin = Stopwatch.GetTimestamp();
        Volatile.Write(ref stopAt, begin + (long)(seconds * Stopwatch.Frequency));
        start.SignalAndWait();
        threads.ForEach(t => t.Join());
        return images / Stopwatch.GetElapsedTime(begin).TotalSeconds;
    }
}

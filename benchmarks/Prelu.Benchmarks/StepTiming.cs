using System.Diagnostics;
using Prelu.Kernels;
using Prelu.Mnist.Models;
using Prelu.Models;
using Prelu.Native.Backends;
using Prelu.Native.Interop;
using Prelu.Optimizers;

namespace Prelu.Benchmarks;

/// <summary>
/// Median time of a full training step (forward, loss, backward, Adam) of the study's model with each
/// activation, interleaved so that the machine's noise falls on all of them alike.
/// </summary>
internal static class StepTiming
{
    /// <summary>FLOPs of one step at batch 250 (per image: forward 5.67 M, backward without the first layer's input gradient 10.96 M).</summary>
    private const double StepFlops = 4.16e9;

    public static int Run(string[] args)
    {
        int threads = Option(args, "--threads", 2), steps = Option(args, "--steps", 30);
        const int batch = 250;
        using var backend = new NativeBackend(threads);
        Console.WriteLine($"prelu native: {PreluNativeLibrary.Describe()}, batch {batch}");
        var runs = new (string Name, CompiledModel Model, Adam Optimizer)[]
        {
            ("relu", new StudyRelu(backend, batch), new Adam()),
            ("prelu", new StudyPRelu(backend, batch), new Adam()),
            ("prelu-channel", new StudyPReluChannelWise(backend, batch), new Adam()),
        };
        var random = new Random(1);
        using var input = backend.Allocate(Enumerable.Range(0, batch * 784).Select(_ => (float)random.NextDouble()).ToArray());
        using var labels = backend.Allocate(Enumerable.Range(0, batch * 10).Select(i => i % 10 == i / 10 % 10 ? 1f : 0f).ToArray());
        using var metrics = backend.Allocate(MetricSlot.Count);
        var times = runs.Select(_ => new List<double>()).ToArray();
        foreach (var run in runs)
            run.Model.Initialize(1);
        for (int step = 1; step <= steps + 5; step++)
        {
            for (int r = 0; r < runs.Length; r++)
            {
                var clock = Stopwatch.StartNew();
                runs[r].Model.ComputeGradients(input, labels, batch, (ulong)step, metrics);
                runs[r].Optimizer.Step(runs[r].Model);
                if (step > 5)
                    times[r].Add(clock.Elapsed.TotalSeconds);
            }
        }
        double reluMedian = Median(times[0]);
        for (int r = 0; r < runs.Length; r++)
        {
            double median = Median(times[r]);
            Console.WriteLine($"prelu {runs[r].Name}: {median * 1000:F1} ms per step, {batch / median:N0} images/s, " +
                $"{StepFlops / median / 1e9:F0} GFLOP/s, {(median / reluMedian - 1) * 100:+0.0;-0.0}% against relu");
            runs[r].Model.Dispose();
            runs[r].Optimizer.Dispose();
        }
        return 0;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}

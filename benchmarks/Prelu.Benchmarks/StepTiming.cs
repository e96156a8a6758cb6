using System.Diagnostics;
using Prelu.Kernels;
using Prelu.Mnist.Models;
using Prelu.Mnist.Reporting;
using Prelu.Native.Backends;
using Prelu.Native.Interop;
using Prelu.Native.OpenCL;

namespace Prelu.Benchmarks;

/// <summary>
/// Median time of a full training step (forward, loss, backward, Adam) of the study's model with each
/// activation, the models taking turns so that the machine's noise falls on all of them alike. Each turn is a run of
/// consecutive steps of one model, as in training, where a step finds the model's weights, Adam moments and
/// activations in cache from the step before; the first step of a run, which finds them evicted by the other two
/// models, is not counted. `--run-length 1` gives the turn to the next model after every step and counts them all.
/// The median is of 60 steps by default: the shared machine's bursts of load, about a tenth of a second, slow one
/// model's run of steps and move a median of 30 by several percent. Each model is also set against the first, turn by
/// turn: the median of its run's steps over the first model's in the same turn, a few hundred milliseconds apart, and
/// the median of those ratios over the turns. The machine's slower and faster states, which last seconds to minutes
/// and can move a whole run's medians by 10% or more, fall on both runs of a turn alike and cancel there; a burst that
/// slows one run moves one turn's ratio, which the median passes over.
/// </summary>
internal static class StepTiming
{
    /// <summary>FLOPs of one step of the study's model at batch 250 (per image: forward 5.67 M, backward without the first layer's input gradient 10.96 M).</summary>
    private const double StepFlops = 4.16e9;

    /// <summary>The models timed unless --models names others (any of the study app's runs: bn-prelu, resnet-relu, ...).</summary>
    public const string DefaultModels = "relu,prelu,prelu-channel";

    // The study's network in its configurations (the same products, whatever the activation): the models whose FLOPs
    // StepFlops counts. They are dense-equivalent FLOPs, what a direct convolution of every output takes; the C library
    // executes fewer (Winograd's transforms, the backward at the pooling's winners only), so the rate they give is
    // printed as such, beside the peak, and never as a share of it: the share printed is of the FLOPs the C kernels
    // report executing (PreluNativeLibrary.FlopsExecuted).
    private static bool IsStudyNetwork(StudyRun run) => run.ModelName.StartsWith("Study", StringComparison.Ordinal);

    public static int Run(StepSettings settings)
    {
        var (backends, models, threads, steps, runLength, breakdownSteps) =
            (settings.Backends, settings.Models, settings.Threads, settings.Steps, settings.RunLength, settings.BreakdownSteps);
        if (settings.Kernels != "best")
            PreluNativeLibrary.SelectKernels(Enum.Parse<NativeKernelSet>(settings.Kernels, ignoreCase: true));
        var peak = MeasurePeak(threads, settings.PeakIterations);
        var medians = new Dictionary<(string Backend, string Run), double>();
        foreach (var name in backends)
        {
            foreach (var (run, median) in Time(name, models, threads, steps, runLength, breakdownSteps, peak))
            {
                medians[(name, run)] = median;
                if (peak is { } p && IsStudyNetwork(StudyRuns.Find(run)))
                    Console.WriteLine($"prelu {name} {run}: {StepFlops / median / 1e9:F0} dense-equivalent GFLOP/s (the {StepFlops / 1e9:F2} GFLOP a " +
                        $"direct computation of the step takes, per second; the kernels execute fewer), beside the {threads}-thread peak of " +
                        $"{p.Gflops:F1} GFLOP/s ({p.Isa}, measured by prelu_fma_peak in this run)");
            }
        }
        // Back to back in one process: the ratios of each backend to the first one named.
        foreach (var name in backends.Skip(1))
        {
            foreach (var run in medians.Keys.Where(k => k.Backend == name).Select(k => k.Run))
            {
                double ratio = medians[(backends[0], run)] / medians[(name, run)];
                Console.WriteLine($"prelu {run}: {name} runs at {ratio:F2}x the speed of {backends[0]} ({medians[(name, run)] * 1000:F1} ms against {medians[(backends[0], run)] * 1000:F1} ms)");
            }
        }
        return 0;
    }

    // The machine's FMA peak on `threads` threads, the widest vectors it has, from the C probe run now (the
    // same run as the steps, so that the ratio is of one machine in one state); null where the probe is not built.
    // The best of two runs of the probe: a burst of load on the shared machine during one would lower the peak and
    // raise every share printed against it.
    private static (double Gflops, string Isa)? MeasurePeak(int threads, long? iterations)
    {
        string arguments = iterations?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "";
        string probe = Path.Combine(BenchmarkTables.RepositoryRoot(), "artifacts", "native", "prelu_fma_peak");
        if (!File.Exists(probe))
        {
            Console.WriteLine($"peak: {probe} is not built (dotnet build builds it); the peak is not printed");
            return null;
        }
        (double Gflops, string Isa)? best = null;
        foreach (var line in BenchmarkTables.RunProcess(probe, arguments).Concat(BenchmarkTables.RunProcess(probe, arguments)))
        {
            Console.WriteLine(line);
            var match = BenchmarkTables.PeakLine().Match(line);
            if (match.Success && int.Parse(match.Groups["threads"].Value, System.Globalization.CultureInfo.InvariantCulture) == threads)
            {
                double gflops = double.Parse(match.Groups["gflops"].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (best is null || gflops > best.Value.Gflops)
                    best = (gflops, match.Groups["isa"].Value);
            }
        }
        if (best is null)
            Console.WriteLine($"peak: the probe measures 1 thread and every core, not {threads} threads; the peak is not printed");
        return best;
    }

    // The shortest layer whose executed rate is given as a share of the peak.
    private const double ShortestShared = 1e-3;

    // A rate of executed FLOPs as a share of the peak measured in this run ("", without one). A rate above the peak
    // means the probe was slowed (load on the shared machine in both its runs): no share is printed then.
    private static string ShareOfPeak(double gflops, (double Gflops, string Isa)? peak, int threads) => peak switch
    {
        null => "",
        { } p when gflops > p.Gflops => $" (above the {threads}-thread peak measured in this run: the probe was slowed, so no share)",
        { } p => $" ({gflops / p.Gflops * 100:F0}% of the {threads}-thread peak)",
    };

    private static List<(string Run, double Median)> Time(string backendName, StudyRun[] models, int threads, int steps, int runLength, int breakdownSteps,
        (double Gflops, string Isa)? peak)
    {
        const int batch = 250;
        using var backend = BackendChoice.Create(backendName, threads);
        // Five steps before the timed ones; on OpenCL as many as every layer's shape takes to get its own program.
        int warmUpSteps = backend is OpenClBackend device ? Math.Max(5, device.StepsToSpecialise) : 5;
        Console.WriteLine($"prelu {backendName}: {BackendChoice.Describe(backend)}, batch {batch}, " +
            (runLength == 1 ? "the models in turn step by step" : $"the models in turn {runLength} steps at a time, the first of each run not counted") +
            $", after {warmUpSteps} steps each to warm up");
        // Each model with its run's optimizer (Adam with Keras's defaults for the study's; with its schedule for others).
        var runs = models.Select(run => (run.Name, Model: run.Create(backend, batch), Optimizer: run.CreateOptimizer())).ToArray();
        var random = new Random(1);
        using var input = backend.Allocate(Enumerable.Range(0, batch * 784).Select(_ => (float)random.NextDouble()).ToArray());
        using var labels = backend.Allocate(Enumerable.Range(0, batch * 10).Select(i => i % 10 == i / 10 % 10 ? 1f : 0f).ToArray());
        using var metrics = backend.Allocate(MetricSlot.Count);
        var times = runs.Select(_ => new List<double>()).ToArray();
        // Each turn's median step of each model, for the ratios to the first model turn by turn.
        var turns = runs.Select(_ => new List<double>()).ToArray();
        // What the C kernels reported executing in each model's last step (the same every step: the paths follow the shapes).
        bool counts = backend is NativeBackend;
        var executed = new long[runs.Length];
        foreach (var run in runs)
            run.Model.Initialize(1);
        for (int step = 1; times[0].Count < steps;)
        {
            for (int r = 0; r < runs.Length; r++)
            {
                var turn = new List<double>();
                for (int i = 0; i < runLength; i++)
                {
                    long before = counts ? PreluNativeLibrary.FlopsExecuted : 0;
                    var clock = Stopwatch.StartNew();
                    runs[r].Model.ComputeGradients(input, labels, batch, (ulong)(step + i), metrics);
                    runs[r].Optimizer.Step(runs[r].Model);
                    backend.Synchronize();
                    if (counts)
                        executed[r] = PreluNativeLibrary.FlopsExecuted - before;
                    if (step > warmUpSteps && (runLength == 1 || i > 0))
                        turn.Add(clock.Elapsed.TotalSeconds);
                }
                times[r].AddRange(turn);
                if (turn.Count > 0)
                    turns[r].Add(Median(turn));
            }
            step += runLength;
        }
        if (breakdownSteps > 0 && backend is OpenClBackend opencl)
        {
            foreach (var line in opencl.TuningLog)
                Console.WriteLine($"opencl tuner: {line}");
            PrintKernelTimes(opencl, runs, input, labels, metrics, batch);
        }
        if (breakdownSteps > 0 && backend is NativeBackend native)
            PrintLayerTimes(native, runs, executed, input, labels, metrics, batch, peak, threads, breakdownSteps);
        double reluMedian = Median(times[0]);
        var medians = new List<(string, double)>();
        for (int r = 0; r < runs.Length; r++)
        {
            double median = Median(times[r]);
            medians.Add((runs[r].Name, median));
            string rate = IsStudyNetwork(models[r]) ? $"{StepFlops / median / 1e9:F0} dense-equivalent GFLOP/s, " : "";
            string done = counts
                ? $"{executed[r] / 1e9:F3} GFLOP executed per step, {executed[r] / median / 1e9:F0} GFLOP/s{ShareOfPeak(executed[r] / median / 1e9, peak, threads)}, "
                : "";
            double paired = Median(turns[r].Zip(turns[0], (mine, first) => mine / first));
            Console.WriteLine($"prelu {runs[r].Name}: {median * 1000:F1} ms per step, {batch / median:N0} images/s, " +
                $"{done}{rate}{Numbers.Signed((median / reluMedian - 1) * 100, 1)}% against {runs[0].Name}; turn by turn " +
                $"{Numbers.Signed((paired - 1) * 100, 1)}% (the median over {turns[r].Count} {(turns[r].Count == 1 ? "turn" : "turns")} of its run's median step against {runs[0].Name}'s)");
            runs[r].Model.Dispose();
            runs[r].Optimizer.Dispose();
        }
        return medians;
    }

    // Seconds per step of each kernel, over a few steps with every launch waited for.
    private static void PrintKernelTimes(OpenClBackend backend, (string Name, CompiledModel Model, Optimizer Optimizer)[] runs,
        DeviceBuffer input, DeviceBuffer labels, DeviceBuffer metrics, int batch)
    {
        const int steps = 3;
        foreach (var run in runs)
        {
            backend.KernelTimes = [];
            for (int step = 1; step <= steps; step++)
            {
                run.Model.ComputeGradients(input, labels, batch, (ulong)step, metrics);
                run.Optimizer.Step(run.Model);
            }
            double total = backend.KernelTimes.Values.Sum();
            Console.WriteLine($"opencl kernels, {run.Name} ({total / steps * 1000:F1} ms per step, launches waited for):");
            foreach (var (kernel, seconds) in backend.KernelTimes.OrderByDescending(k => k.Value))
                Console.WriteLine($"  {kernel,-28} {seconds / steps * 1000,8:F2} ms  {seconds / total,6:P0}");
            backend.KernelTimes = null;
        }
    }

    // Milliseconds per step of each layer kernel of the C library, the rate of the FLOPs it executed (and that rate's share
    // of the peak) and the dense-equivalent rate of its matrix products: each layer's median over `steps` steps
    // (--breakdown-steps, 21 by default), so that a step the shared machine slowed down does not move the table. The layers' executed FLOPs add up to the step's.
    private static void PrintLayerTimes(NativeBackend backend, (string Name, CompiledModel Model, Optimizer Optimizer)[] runs, long[] stepExecuted,
        DeviceBuffer input, DeviceBuffer labels, DeviceBuffer metrics, int batch, (double Gflops, string Isa)? peak, int threads, int steps)
    {
        for (int r = 0; r < runs.Length; r++)
        {
            var run = runs[r];
            var perStep = new List<Dictionary<string, (double Seconds, double Flops, double Executed, int Calls)>>();
            for (int step = 1; step <= steps; step++)
            {
                backend.KernelTimes = [];
                run.Model.ComputeGradients(input, labels, batch, (ulong)step, metrics);
                run.Optimizer.Step(run.Model);
                perStep.Add(backend.KernelTimes);
            }
            backend.KernelTimes = null;
            // A label that several layers of one shape share sums them, and says how many calls it sums.
            var layers = perStep[0].Keys.Select(layer =>
                (Layer: perStep[0][layer].Calls > 1 ? $"{layer}, {perStep[0][layer].Calls} calls" : layer,
                 Seconds: Median(perStep.Select(s => s[layer].Seconds)), perStep[0][layer].Flops, perStep[0][layer].Executed))
                .OrderByDescending(l => l.Seconds).ToList();
            double total = layers.Sum(l => l.Seconds);
            Console.WriteLine($"native layers, {run.Name} ({total * 1000:F1} ms per step in kernels, the sum of each layer's median over {steps} steps; " +
                $"{layers.Sum(l => l.Executed) / 1e9:F4} GFLOP executed, the sum of the layers', against {stepExecuted[r] / 1e9:F4} GFLOP counted over the " +
                "whole step; a dense-equivalent rate counts the FLOPs a direct computation of the layer's products takes, which Winograd and the " +
                "pooling's winners do not all execute):");
            foreach (var (layer, seconds, flops, executed) in layers)
            {
                // A kernel of well under a millisecond runs between the shared machine's interruptions, which the probe's
                // tenth of a second meets: its rate is given, but no share of that peak.
                string share = seconds >= ShortestShared ? ShareOfPeak(executed / seconds / 1e9, peak, threads) : "";
                string done = executed > 0 ? $"{executed / seconds / 1e9,5:F0} GFLOP/s executed{share}" : "";
                string rate = flops > 0 ? $", {flops / seconds / 1e9:F0} dense-equivalent GFLOP/s" : "";
                Console.WriteLine($"  {layer,-62} {seconds * 1000,7:F2} ms  {seconds / total,5:P0}  {done}{rate}");
            }
        }
    }

    /// <summary>The median (of an even count, the mean of the middle two), the list left as it was; StepRounds' too.</summary>
    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        int middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

/// <summary>What `step` times (BenchmarkCommands parses it): the backends (ratios to the first), the models, kernel threads,
/// timed steps per model, the run length of a model's turn, the C library's breakdown steps (0: no breakdown), its build
/// ("best" or a kernel set's name) and the peak probe's loop count (null: the probe's default).</summary>
internal sealed record StepSettings(string[] Backends, StudyRun[] Models, int Threads, int Steps, int RunLength, int BreakdownSteps, string Kernels,
    long? PeakIterations);

using System.CommandLine;
using System.Globalization;
using Prelu.Mnist.Models;
using Prelu.Native.Backends;

namespace Prelu.Benchmarks;

/// <summary>
/// The benchmarks' own commands (`step`, `serve`, `latency`, `peak`, `run`), parsed by System.CommandLine: each has
/// --help, and an option it does not know, or a value of the wrong type, is an error that names it (a mistyped
/// `--step 20` once ran the default 60 steps without a word). Everything else goes to BenchmarkDotNet (Program.cs).
/// </summary>
internal static class BenchmarkCommands
{
    public static readonly string[] Names = ["step", "serve", "latency", "peak", "run"];

    public static RootCommand Create()
    {
        var root = new RootCommand("Prelu's benchmarks. These commands, or BenchmarkDotNet's own arguments (e.g. --filter '*Perf_Kernels*' --job short)")
        {
            Step(), Serve(), Latency(), Peak(), Run(),
        };
        return root;
    }

    private static Command Step()
    {
        var backends = new Option<string>("--backend")
        {
            Description = $"Backends to time, comma-separated ({string.Join(", ", BackendChoice.Names)}); ratios are to the first",
            DefaultValueFactory = _ => "native",
        };
        var models = new Option<string>("--models")
        {
            Description = $"Models to time, comma-separated: any of the study app's runs ({string.Join(", ", StudyRuns.All.Select(r => r.Name))})",
            DefaultValueFactory = _ => StepTiming.DefaultModels,
        };
        var threads = new Option<int>("--threads") { Description = "Kernel threads", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed steps of each model (their median is the figure)", DefaultValueFactory = _ => 60 };
        var runLength = new Option<int>("--run-length")
        {
            Description = "Consecutive steps of one model before the next takes its turn, the first of each not counted (1: step by step, all counted)",
            DefaultValueFactory = _ => 5,
        };
        var breakdown = new Option<bool>("--breakdown") { Description = "Also the time per layer kernel (the C library: ms and GFLOP/s of each; OpenCL: per kernel)" };
        var breakdownSteps = new Option<int>("--breakdown-steps") { Description = "Steps whose per-layer medians the C library's breakdown takes", DefaultValueFactory = _ => 21 };
        var kernels = new Option<string>("--kernels") { Description = "The C library's build to time: best (what this CPU runs best), avx512, avx2 or portable", DefaultValueFactory = _ => "best" };
        kernels.AcceptOnlyFromAmong("best", "avx512", "avx2", "portable");
        var peakIterations = new Option<long?>("--peak-iterations") { Description = "The peak probe's loop count (100,000,000 by default)" };
        var rounds = new Option<int>("--rounds")
        {
            Description = "Run the timing in this many fresh processes, one after another, and summarise each model's and backend's figures over them",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("step", "Times training steps of the study's models (or other runs of the app) back to back on each backend, with the probe's peak measured first")
        {
            backends, models, threads, steps, runLength, breakdown, breakdownSteps, kernels, peakIterations, rounds,
        };
        command.SetAction(parse =>
        {
            var errors = new List<string>();
            var backendNames = List(parse.GetValue(backends)!);
            errors.AddRange(backendNames.Where(b => !BackendChoice.Names.Contains(b)).Select(b => $"--backend: unknown backend '{b}'; choose from {string.Join(", ", BackendChoice.Names)}"));
            var modelNames = List(parse.GetValue(models)!);
            errors.AddRange(modelNames.Where(m => StudyRuns.All.All(r => r.Name != m)).Select(m => $"--models: unknown run '{m}'; choose from {string.Join(", ", StudyRuns.All.Select(r => r.Name))}"));
            if (backendNames.Length == 0)
                errors.Add("--backend names no backend");
            if (modelNames.Length == 0)
                errors.Add("--models names no model");
            if (parse.GetValue(threads) < 1)
                errors.Add("--threads must be 1 or more");
            if (parse.GetValue(steps) < 1)
                errors.Add("--steps must be 1 or more");
            if (parse.GetValue(runLength) < 1)
                errors.Add("--run-length must be 1 or more");
            if (parse.GetValue(breakdownSteps) < 1)
                errors.Add("--breakdown-steps must be 1 or more");
            if (parse.GetValue(peakIterations) is < 1)
                errors.Add("--peak-iterations must be 1 or more");
            if (parse.GetValue(rounds) < 1)
                errors.Add("--rounds must be 1 or more");
            if (errors.Count > 0)
                return Refuse(errors);
            if (parse.GetValue(rounds) > 1)
                return StepRounds.Run(parse.GetValue(rounds), StepArgumentsBut(parse, rounds));
            return StepTiming.Run(new StepSettings(backendNames, modelNames.Select(StudyRuns.Find).ToArray(), parse.GetValue(threads), parse.GetValue(steps),
                parse.GetValue(runLength), parse.GetValue(breakdown) ? parse.GetValue(breakdownSteps) : 0, parse.GetValue(kernels)!, parse.GetValue(peakIterations)));
        });
        return command;
    }

    private static Command Serve()
    {
        var backend = new Option<string>("--backend") { Description = $"The backend ({string.Join(", ", BackendChoice.Names)})", DefaultValueFactory = _ => "native" };
        var threads = new Option<int>("--threads") { Description = "Kernel threads per call (1: a server's setting)", DefaultValueFactory = _ => 1 };
        var callers = new Option<string>("--callers") { Description = "Numbers of threads calling Predict at once, comma-separated", DefaultValueFactory = _ => "1,2" };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated", DefaultValueFactory = _ => "1,8" };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per figure", DefaultValueFactory = _ => 3 };
        var command = new Command("serve", "One model's Predict from 1, 2, ... threads at once: images/s and the ratio to one caller")
        {
            backend, threads, callers, batches, seconds,
        };
        command.SetAction(parse =>
        {
            var errors = new List<string>();
            if (!BackendChoice.Names.Contains(parse.GetValue(backend)))
                errors.Add($"--backend must be one of {string.Join(", ", BackendChoice.Names)}");
            var callerCounts = Counts(parse.GetValue(callers)!, "--callers", errors);
            var batchSizes = Counts(parse.GetValue(batches)!, "--batch", errors);
            if (parse.GetValue(threads) < 1)
                errors.Add("--threads must be 1 or more");
            if (!(parse.GetValue(seconds) > 0))
                errors.Add("--seconds must be above 0");
            return errors.Count > 0 ? Refuse(errors) : ServeTiming.Run(parse.GetValue(backend)!, parse.GetValue(threads), parse.GetValue(seconds), callerCounts, batchSizes);
        });
        return command;
    }

    private static Command Latency()
    {
        var threads = new Option<int>("--threads") { Description = "Kernel threads per call", DefaultValueFactory = _ => 1 };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated", DefaultValueFactory = _ => "1,8" };
        var command = new Command("latency", "One Predict call of the study's model on the C library, and each layer kernel's time in it") { threads, batches };
        command.SetAction(parse =>
        {
            var errors = new List<string>();
            var batchSizes = Counts(parse.GetValue(batches)!, "--batch", errors);
            if (parse.GetValue(threads) < 1)
                errors.Add("--threads must be 1 or more");
            return errors.Count > 0 ? Refuse(errors) : LatencyTiming.Run(parse.GetValue(threads), batchSizes);
        });
        return command;
    }

    private static Command Peak()
    {
        var iterations = new Argument<long>("iterations") { Description = "Loop count of each chain", DefaultValueFactory = _ => 100_000_000 };
        var command = new Command("peak", "The managed peak-FMA probe, a check on benchmarks/probe/fma_peak.c") { iterations };
        command.SetAction(parse => parse.GetValue(iterations) < 1 ? Refuse(["iterations must be 1 or more"]) : PeakProbe.Run(parse.GetValue(iterations)));
        return command;
    }

    private static Command Run()
    {
        var full = new Option<bool>("--full") { Description = "BenchmarkDotNet's default job, out of process (a short job in process otherwise)" };
        var command = new Command("run", "Every Perf_ class, then docs/benchmarks.md from the results (benchmarks/run)") { full };
        command.SetAction(parse => BenchmarkTables.Run(parse.GetValue(full)));
        return command;
    }

    // The step command's own arguments as given, less `option` and its value: what each round's process is given.
    private static List<string> StepArgumentsBut(ParseResult parse, Option option)
    {
        var tokens = parse.Tokens.Select(t => t.Value).ToList();
        tokens.RemoveAt(tokens.IndexOf("step"));
        int at = tokens.IndexOf(option.Name);
        if (at >= 0)
            tokens.RemoveRange(at, Math.Min(2, tokens.Count - at));
        return tokens;
    }

    private static string[] List(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // Positive whole numbers, comma-separated; an error naming the option for anything else.
    private static int[] Counts(string text, string option, List<string> errors)
    {
        var items = List(text);
        var counts = new List<int>();
        foreach (var item in items)
        {
            if (int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count > 0)
                counts.Add(count);
            else
                errors.Add($"{option}: '{item}' is not a positive whole number");
        }
        if (items.Length == 0)
            errors.Add($"{option} names no number");
        return [.. counts];
    }

    private static int Refuse(IEnumerable<string> errors)
    {
        foreach (var error in errors)
            Console.Error.WriteLine(error);
        return 2;
    }
}

using Prelu.Kernels;
using Prelu.Mnist.Models;
using Prelu.Mnist.Reporting;

namespace Prelu.Mnist;

/// <summary>What the study runs with: the study's hyper-parameters unless the command line says otherwise.</summary>
public sealed record StudyOptions(
    IReadOnlyList<string> Runs,
    int Epochs,
    int BatchSize,
    double ValidationSplit,
    IReadOnlyList<ulong> Seeds,
    string OutputFolder,
    string Command,
    bool Resume = false,
    bool CheckNumerics = false);

/// <summary>
/// Trains each configuration on identical data and settings, once per seed (seed by seed: every configuration
/// of the first seed, then of the next, so that a study stopped early already holds whole pairs), and writes
/// what it found. Each run keeps its checkpoint (weights, Adam's state, where training stands, the history) in
/// the output folder, rewritten after every epoch; with <see cref="StudyOptions.Resume"/> a run goes on from it,
/// and a finished run is only evaluated again, so an interrupted study continues where it stopped, run by run.
/// </summary>
public static class StudyRunner
{
    public static StudyResults Run(Backend backend, MnistDataset mnist, StudyOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.OutputFolder);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = new List<RunResult>();
        bool seeded = options.Seeds.Count > 1;
        foreach (var seed in options.Seeds)
        {
            foreach (var name in options.Runs)
            {
                var run = StudyRuns.Find(name);
                // One seed keeps the study's own file names; several name each run's files by its seed.
                string file = seeded ? $"{run.Name}-seed{seed}" : run.Name;
                Console.WriteLine();
                Console.WriteLine(seeded ? $"== {run.Label} ({run.Name}), seed {seed} ==" : $"== {run.Label} ({run.Name}) ==");
                using var model = run.Create(backend, options.BatchSize);
                model.Initialize(seed);
                Console.Write(model.Summary());
                using var optimizer = run.CreateOptimizer();
                using var trainer = new Trainer(model, optimizer);
                var checkpoint = Path.Combine(options.OutputFolder, $"{file}.safetensors");
                if (options.Resume && File.Exists(checkpoint))
                    Console.WriteLine($"Resuming from {checkpoint}");
                var history = trainer.Fit(mnist.Train,
                    new FitOptions(options.Epochs, options.BatchSize, options.ValidationSplit, Seed: seed, CheckpointPath: checkpoint,
                        Resume: options.Resume, CheckNumerics: options.CheckNumerics, Shift: run.Shift, Rotation: run.Rotation, Zoom: run.Zoom), cancellationToken: cancellationToken);
                var (testLoss, testAccuracy) = trainer.Evaluate(mnist.Test, options.BatchSize);
                Console.WriteLine($"test loss {testLoss:F4}, test accuracy {testAccuracy:F4}");

                Plots.SaveRun(Path.Combine(options.OutputFolder, $"{file}.png"), seeded ? $"{run.Label}, seed {seed}" : run.Label, history.Epochs);

                var epochs = history.Epochs;
                results.Add(new RunResult(run.Name, seed, run.Label, model.Name, model.ParameterCount, epochs, testLoss, testAccuracy,
                    epochs.Average(e => e.Seconds), epochs.Average(e => e.ImagesPerSecond), Alphas(model), Path.GetFileName(checkpoint)));
            }
        }
        SeedComparison? comparison = null;
        if (seeded)
        {
            comparison = SeedComparison.Of(results);
            Plots.SaveValidationBands(Path.Combine(options.OutputFolder, "validation-accuracy.png"), results);
            Plots.SaveTestAccuracies(Path.Combine(options.OutputFolder, "test-accuracy.png"), results);
        }
        else
        {
            Plots.SaveAll(Path.Combine(options.OutputFolder, "all-runs.png"), results.Select(r => (r.Label, r.History)).ToList());
        }
        return new StudyResults(backend.Name, MachineDescription(), options.Epochs, options.BatchSize, options.ValidationSplit, options.Seeds,
            options.Command, results, comparison, clock.Elapsed.TotalSeconds, options.Resume);
    }

    /// <summary>Mean, min and max of each PReLU layer's alphas.</summary>
    private static List<AlphaSummary> Alphas(CompiledModel model) =>
        model.Parameters.Where(p => p.Name.EndsWith(".alpha", StringComparison.Ordinal)).Select(p =>
        {
            var values = model.GetParameter(p.Name);
            return new AlphaSummary(p.Name[..^".alpha".Length], values.Length, values.Average(v => (double)v), values.Min(), values.Max());
        }).ToList();

    private static string MachineDescription()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return $"{cpu}, {Environment.ProcessorCount} cores";
    }
}

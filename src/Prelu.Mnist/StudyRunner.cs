using Prelu.Checkpoints;
using Prelu.Data;
using Prelu.Kernels;
using Prelu.Mnist.Models;
using Prelu.Mnist.Reporting;
using Prelu.Models;
using Prelu.Optimizers;
using Prelu.Training;

namespace Prelu.Mnist;

/// <summary>What the study runs with: the study's hyper-parameters unless the command line says otherwise.</summary>
public sealed record StudyOptions(
    IReadOnlyList<string> Runs,
    int Epochs,
    int BatchSize,
    double ValidationSplit,
    ulong Seed,
    string OutputFolder,
    string Command,
    bool Resume = false,
    bool CheckNumerics = false);

/// <summary>
/// Trains each configuration on identical data and settings, and writes what it found. Each run keeps its
/// checkpoint (weights, Adam's state, where training stands, the history) in the output folder, rewritten
/// after every epoch; with <see cref="StudyOptions.Resume"/> a run goes on from it, and a finished run is
/// only evaluated again, so an interrupted study continues where it stopped, run by run.
/// </summary>
public static class StudyRunner
{
    public static StudyResults Run(Backend backend, MnistDataset mnist, StudyOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.OutputFolder);
        var results = new List<RunResult>();
        foreach (var name in options.Runs)
        {
            var run = StudyRuns.Find(name);
            Console.WriteLine();
            Console.WriteLine($"== {run.Label} ({run.Name}) ==");
            using var model = run.Create(backend, options.BatchSize);
            model.Initialize(options.Seed);
            Console.Write(model.Summary());
            using var optimizer = new Adam();
            using var trainer = new Trainer(model, optimizer);
            var checkpoint = Path.Combine(options.OutputFolder, $"{run.Name}.safetensors");
            if (options.Resume && File.Exists(checkpoint))
                Console.WriteLine($"Resuming from {checkpoint}");
            var history = ConsoleProgress.Show(observer => trainer.Fit(mnist.Train,
                new FitOptions(options.Epochs, options.BatchSize, options.ValidationSplit, Seed: options.Seed, CheckpointPath: checkpoint,
                    Resume: options.Resume, CheckNumerics: options.CheckNumerics), observer, cancellationToken));
            var (testLoss, testAccuracy) = trainer.Evaluate(mnist.Test, options.BatchSize);
            Console.WriteLine($"test loss {testLoss:F4}, test accuracy {testAccuracy:F4}");

            Plots.SaveRun(Path.Combine(options.OutputFolder, $"{run.Name}.png"), run.Label, history.Epochs);

            var epochs = history.Epochs;
            results.Add(new RunResult(run.Name, run.Label, model.Name, model.ParameterCount, epochs, testLoss, testAccuracy,
                epochs.Average(e => e.Seconds), epochs.Average(e => e.ImagesPerSecond), Alphas(model), Path.GetFileName(checkpoint)));
        }
        Plots.SaveAll(Path.Combine(options.OutputFolder, "all-runs.png"), results.Select(r => (r.Label, r.History)).ToList());
        return new StudyResults(backend.Name, MachineDescription(), options.Epochs, options.BatchSize, options.ValidationSplit, options.Seed,
            options.Command, results);
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

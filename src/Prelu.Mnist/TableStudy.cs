using System.Globalization;
using System.Text;
using Prelu.Kernels;
using Prelu.Mnist.Models;
using Prelu.Mnist.Reporting;
using ScottPlot;

namespace Prelu.Mnist;

/// <summary>
/// The study's question on two real tables (<c>--task autompg</c>, <c>--task penguins</c>): ReLU against PReLU in the
/// hidden layers, once per seed, each seed with its own 80/20 split of the table (pandas' <c>sample(frac=0.8)</c>),
/// trained as TensorFlow's tutorials train such networks (Normalization adapted on the training part, Adam at 0.001,
/// batches of 32, the last 20% of the training part for validation), then measured on the held-out part.
/// </summary>
public static class TableStudy
{
    /// <summary>A table and what is measured on it.</summary>
    private sealed record Task(string Name, string Title, string Metric, string MetricName, bool LowerIsBetter, int Epochs,
        Func<CancellationToken, Task<Dataset>> Load, (string Label, Func<Backend, int, CompiledModel> Create)[] Configurations);

    private static readonly Task[] Tasks =
    [
        new("autompg", "Auto MPG", "test mean absolute error (miles per gallon)", MetricNames.MeanAbsoluteError, LowerIsBetter: true, Epochs: 100,
            ct => AutoMpg.LoadOrFetchAsync(cancellationToken: ct),
            [("ReLU", (b, n) => new AutoMpgRelu(b, n)), ("PReLU", (b, n) => new AutoMpgPRelu(b, n))]),
        new("penguins", "Palmer penguins", "test accuracy", MetricNames.Accuracy, LowerIsBetter: false, Epochs: 100,
            ct => Penguins.LoadOrFetchAsync(cancellationToken: ct),
            [("ReLU", (b, n) => new PenguinsRelu(b, n)), ("PReLU", (b, n) => new PenguinsPRelu(b, n))]),
    ];

    public static IReadOnlyList<string> Names { get; } = Tasks.Select(t => t.Name).ToArray();

    private const int Batch = 32;

    /// <summary>Trains every configuration once per seed and writes results.md (and, for a regression, the predictions' plot) to <paramref name="outputFolder"/>.</summary>
    public static async Task<string> RunAsync(string name, IReadOnlyList<ulong> seeds, int? epochs, Backend backend, string outputFolder, string command,
        CancellationToken cancellationToken)
    {
        var task = Tasks.Single(t => t.Name == name);
        var data = await task.Load(cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(outputFolder);
        int epochCount = epochs ?? task.Epochs;
        var results = new Dictionary<string, List<(ulong Seed, double Value)>>();
        (float[] Predicted, float[] Actual)? firstPredictions = null;
        foreach (var seed in seeds)
        {
            var (train, test) = data.RandomSplit(0.8, seed);
            foreach (var (label, create) in task.Configurations)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var model = create(backend, Batch);
                model.Initialize(seed);
                model.Adapt(train);
                using var trainer = new Trainer(model, new Adam());
                trainer.Fit(train, new FitOptions(epochCount, Batch, ValidationSplit: 0.2, Seed: seed, Verbose: 0), cancellationToken: cancellationToken);
                double value = trainer.Evaluate(test, Batch).Metrics[task.MetricName];
                (results.TryGetValue(label, out var list) ? list : results[label] = []).Add((seed, value));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{task.Title}, {label}, seed {seed}: {task.Metric} {value:F4}"));
                if (firstPredictions is null && data.ClassCount == 0)
                    firstPredictions = (trainer.Predict(test, Batch), test.Targets.ToArray());
            }
        }
        if (firstPredictions is var (predicted, actual))
            SavePredictions(Path.Combine(outputFolder, "predicted-vs-true.png"), $"{task.Title}: {task.Configurations[0].Label}, seed {seeds[0]}, test part", predicted, actual);
        var markdown = Markdown(task, seeds, epochCount, backend.Name, command, results);
        File.WriteAllText(Path.Combine(outputFolder, "results.md"), markdown);
        return markdown;
    }

    private static string Markdown(Task task, IReadOnlyList<ulong> seeds, int epochs, string backendName, string command,
        Dictionary<string, List<(ulong Seed, double Value)>> results)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# {task.Title}: ReLU against PReLU");
        md.AppendLine();
        md.AppendLine(string.Create(c, $"Command: `{command}`. {seeds.Count} seeds ({string.Join(", ", seeds)}), each with its own 80/20 split; ") +
            string.Create(c, $"{epochs} epochs, batches of {Batch}, Adam at 0.001, on {backendName}."));
        md.AppendLine();
        md.AppendLine(c, $"| network | {task.Metric}: mean ± sd | min - max | per seed |");
        md.AppendLine("|---|---:|---:|---|");
        foreach (var (label, values) in results)
        {
            var spread = Spread.Of(values.Select(v => v.Value).ToList());
            md.AppendLine(c, $"| {label} | {spread.Mean:F4} ± {spread.StandardDeviation:F4} | {spread.Min:F4} - {spread.Max:F4} | " +
                $"{string.Join(", ", values.Select(v => string.Create(c, $"{v.Seed}: {v.Value:F4}")))} |");
        }
        var baseline = task.Configurations[0].Label;
        foreach (var (label, values) in results.Where(r => r.Key != baseline))
        {
            var pairs = values.Select(v => (v.Seed, v.Value, results[baseline].Single(b => b.Seed == v.Seed).Value)).ToList();
            var difference = PairedDifference.Of(label, label, baseline, pairs);
            md.AppendLine();
            md.AppendLine($"Paired difference {label} - {baseline}, seed by seed: {Numbers.Signed(difference.Mean, 4)}" +
                (difference.Low is { } low ? $" (95% CI {Numbers.Signed(low, 4)} to {Numbers.Signed(difference.High!.Value, 4)})" : "") + ".");
            md.AppendLine();
            string better = task.LowerIsBetter ? (difference.Mean < 0 ? "lower" : "higher") : (difference.Mean > 0 ? "higher" : "lower");
            md.AppendLine(difference.Low is null
                ? "**With one seed no confidence interval can be computed: run several (--seeds 5).**"
                : difference.ExcludesZero
                    ? $"**{label} has a {better} {task.Metric} than {baseline} at this sample size ({pairs.Count} seeds): the 95% interval of the paired differences excludes zero.**"
                    : $"**No difference in {task.Metric} between {label} and {baseline} is detectable at this sample size ({pairs.Count} seeds): the 95% interval of the paired differences contains zero.**");
        }
        return md.ToString();
    }

    private static void SavePredictions(string path, string title, float[] predicted, float[] actual)
    {
        var plot = new Plot();
        var points = plot.Add.ScatterPoints(actual.Select(v => (double)v).ToArray(), predicted.Select(v => (double)v).ToArray());
        points.MarkerSize = 6;
        double low = Math.Min(actual.Min(), predicted.Min()), high = Math.Max(actual.Max(), predicted.Max());
        var line = plot.Add.Line(low, low, high, high);
        line.LinePattern = LinePattern.Dashed;
        plot.Title(title);
        plot.XLabel("true miles per gallon");
        plot.YLabel("predicted miles per gallon");
        plot.SavePng(path, 600, 600);
    }
}

using System.Text.RegularExpressions;
using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Training;

// Console.SetOut is the process's: nothing else may write while these tests read it.
[CollectionDefinition(nameof(ProgressTests), DisableParallelization = true)]
public sealed class ProgressCollection;

/// <summary>
/// What Fit prints when it is given no observer, as Keras's verbose does: progress by default (in a log, as the tests
/// run: the epoch, a line every tenth of it, the summary), one line per epoch with 2, nothing with 0; every metric
/// by its name, the regression's too.
/// </summary>
[Collection(nameof(ProgressTests))]
public sealed class ProgressTests : IDisposable
{
    private readonly ManagedBackend _backend = new();
    private readonly Dataset _data;

    public ProgressTests()
    {
        var features = Det.Floats(100 * 5, 21, -1, 1);
        var targets = Enumerable.Range(0, 100).SelectMany(i => new[] { features[i * 5] + features[i * 5 + 1], features[i * 5 + 2] }).ToArray();
        _data = new Dataset(features, sampleShape: [5], targets: targets, targetLength: 2);
    }

    public void Dispose() => _backend.Dispose();

    private (string Printed, History History) Fit(FitOptions options)
    {
        using var model = new RegressionNet(_backend, 10);
        model.Initialize(1);
        using var trainer = new Trainer(model, new Adam());
        History? history = null;
        string printed = Printed(() => history = trainer.Fit(_data, options));
        return (printed, history!);
    }

    // What `run` writes to the console.
    private static string Printed(Action run)
    {
        var saved = Console.Out;
        using var printed = new StringWriter();
        Console.SetOut(printed);
        try
        {
            run();
            return printed.ToString();
        }
        finally
        {
            Console.SetOut(saved);
        }
    }

    [Fact]
    public void By_default_a_log_gets_each_epoch_its_tenths_and_its_summary_with_every_metric_by_name()
    {
        var (printed, history) = Fit(new FitOptions(Epochs: 2, BatchSize: 10, ValidationSplit: 0.2, Seed: 1, ProgressInterval: TimeSpan.Zero));
        var lines = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        // 80 samples in batches of 10: a line after each of batches 1 to 7 (each a tenth further on; the last is the summary's).
        Assert.Equal(["Epoch 1/2", "Epoch 2/2"], lines.Where(l => l.StartsWith("Epoch", StringComparison.Ordinal)));
        Assert.Equal(2 * 7, lines.Count(l => Regex.IsMatch(l, @"^\d/8 - ETA: \d+s - loss: \d+\.\d{4} - mae: \d+\.\d{4} - mse: \d+\.\d{4} - rmse: \d+\.\d{4} - [\d,]+ samples/s$")));
        var summaries = lines.Where(l => l.Contains("val_loss", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, summaries.Length);
        foreach (var (summary, epoch) in summaries.Zip(history.Epochs))
        {
            Assert.Matches(@"^\d+\.\ds - [\d,]+ samples/s - loss: ", summary);
            foreach (var (name, value) in epoch.Metrics)
                Assert.Contains(FormattableString.Invariant($"{name}: {value:F4}"), summary, StringComparison.Ordinal);
        }
        Assert.Equal(2 + 14 + 2, lines.Length);
    }

    [Fact]
    public void Verbose_2_prints_one_line_per_epoch_and_0_nothing_and_neither_changes_the_training()
    {
        var options = new FitOptions(Epochs: 3, BatchSize: 10, ValidationSplit: 0.2, Seed: 1, ProgressInterval: TimeSpan.Zero);
        var (perEpoch, history) = Fit(options with { Verbose = 2 });
        var lines = perEpoch.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Length);
        foreach (var (line, epoch) in lines.Zip(history.Epochs))
            Assert.StartsWith($"Epoch {epoch.Epoch}/3 - ", line, StringComparison.Ordinal);

        var (nothing, silentHistory) = Fit(options with { Verbose = 0 });
        Assert.Equal("", nothing);
        Assert.Equal(history.Of("val_mae"), silentHistory.Of("val_mae"));
    }

    [Fact]
    public void An_observer_replaces_the_console_and_a_verbose_other_than_0_1_2_is_refused()
    {
        var observer = new Counter();
        using var model = new RegressionNet(_backend, 10);
        model.Initialize(1);
        using var trainer = new Trainer(model, new Adam());
        string printed = Printed(() =>
        {
            trainer.Fit(_data, new FitOptions(Epochs: 1, BatchSize: 10), observer);
            Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(Epochs: 1, BatchSize: 10, Verbose: 3)), "options",
                "FitOptions.Verbose is 0 (silent), 1 (progress) or 2 (one line per epoch)");
        });
        Assert.Equal("", printed);
        Assert.Equal(1, observer.Epochs);
        Assert.Equal(10, trainer.Optimizer.Iterations); // the refused fit trained nothing
    }

    private sealed class Counter : ITrainingObserver
    {
        public int Epochs { get; private set; }

        public void EpochStarted(int epoch, int epochs, int batches)
        {
        }

        public void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
        }

        public void EpochCompleted(EpochMetrics metrics) => Epochs++;
    }
}

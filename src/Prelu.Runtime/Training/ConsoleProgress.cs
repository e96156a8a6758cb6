using System.Globalization;
using Spectre.Console;

namespace Prelu;

/// <summary>
/// What <see cref="Trainer.Fit"/> shows when no observer is given, as Keras's <c>verbose</c> does. With
/// <see cref="FitOptions.Verbose"/> 1 (the default), on a terminal: a live bar per epoch with the time left, the
/// running metrics and samples per second, left in place with the epoch's summary when it ends; in a log (output
/// redirected, or <c>CI</c> set): the epoch, a line every tenth of it, and the summary. With 2: one line per epoch.
/// With 0: nothing.
/// </summary>
public abstract class ConsoleProgress : ITrainingObserver
{
    /// <summary>
    /// Runs <paramref name="fit"/> with the display <paramref name="verbose"/> asks for and this console supports:
    /// the bars are drawn while <paramref name="fit"/> runs, so it must be the whole fit.
    /// </summary>
    /// <param name="verbose">Keras's <c>verbose</c>: 0 silent, 1 progress, 2 one line per epoch.</param>
    /// <param name="fit">The fit, given the observer to report to (null when <paramref name="verbose"/> is 0).</param>
    public static T Show<T>(int verbose, Func<ITrainingObserver?, T> fit)
    {
        ArgumentNullException.ThrowIfNull(fit);
        switch (verbose)
        {
            case 0:
                return fit(null);
            case 2:
                return fit(new Lines(everyTenth: false));
            case 1:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "verbose is 0 (silent), 1 (progress) or 2 (one line per epoch), as Keras's");
        }
        bool live = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
            && Environment.GetEnvironmentVariable("CI") is null or "" or "false";
        if (!live)
            return fit(new Lines(everyTenth: true));
        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context => fit(new Bars(context)));
    }

    /// <inheritdoc />
    public abstract void EpochStarted(int epoch, int epochs, int batches);

    /// <inheritdoc />
    public abstract void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond);

    /// <inheritdoc />
    public abstract void EpochCompleted(EpochMetrics metrics);

    /// <summary>"loss: 0.1234 - accuracy: 0.9876", the metrics in the order the loss reports them, as Keras prints them.</summary>
    protected static string Format(IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return string.Join(" - ", metrics.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key}: {m.Value:F4}")));
    }

    private static string Running(IReadOnlyDictionary<string, double> running, double samplesPerSecond) =>
        string.Create(CultureInfo.InvariantCulture, $"{Format(running)} - {samplesPerSecond:N0} samples/s");

    private static string Summary(EpochMetrics m) =>
        string.Create(CultureInfo.InvariantCulture, $"{m.Seconds:F1}s - {m.ImagesPerSecond:N0} samples/s - {Format(m.Metrics)}");

    private sealed class Bars(ProgressContext context) : ConsoleProgress
    {
        private ProgressTask? _task;
        private string _epoch = "";

        public override void EpochStarted(int epoch, int epochs, int batches)
        {
            _epoch = $"Epoch {epoch}/{epochs}";
            _task = context.AddTask(_epoch, maxValue: batches);
        }

        public override void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
            _task!.Value = batch;
            _task.Description = Markup.Escape($"{_epoch} - {Running(running, samplesPerSecond)}");
        }

        public override void EpochCompleted(EpochMetrics metrics)
        {
            _task!.Description = Markup.Escape($"{_epoch} - {Summary(metrics)}");
            _task.StopTask();
        }
    }

    private sealed class Lines(bool everyTenth) : ConsoleProgress
    {
        private DateTime _epochStart;
        private int _lastTenth;
        private string _epoch = "";

        public override void EpochStarted(int epoch, int epochs, int batches)
        {
            _epochStart = DateTime.UtcNow;
            _lastTenth = 0;
            _epoch = $"Epoch {epoch}/{epochs}";
            if (everyTenth)
                Console.WriteLine(_epoch);
        }

        public override void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
            int tenth = 10 * batch / batches;
            if (!everyTenth || tenth <= _lastTenth || batch == batches)
                return;
            _lastTenth = tenth;
            double elapsed = (DateTime.UtcNow - _epochStart).TotalSeconds;
            double eta = elapsed / batch * (batches - batch);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {batch}/{batches} - ETA: {eta:F0}s - {Running(running, samplesPerSecond)}"));
        }

        public override void EpochCompleted(EpochMetrics metrics) =>
            Console.WriteLine(everyTenth ? "  " + Summary(metrics) : $"{_epoch} - {Summary(metrics)}");
    }
}

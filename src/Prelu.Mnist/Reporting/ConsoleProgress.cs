using System.Globalization;
using Prelu.Training;
using Spectre.Console;

namespace Prelu.Mnist.Reporting;

/// <summary>
/// Keras's verbose=1. On a terminal, a live Spectre.Console bar per epoch with ETA, running loss and
/// accuracy and images per second, left in place with the epoch's summary when it ends. In a log (output
/// redirected, or CI) plain lines: the epoch, progress every tenth of it, and the summary.
/// </summary>
public abstract class ConsoleProgress : ITrainingObserver
{
    /// <summary>Runs <paramref name="fit"/> with the progress display this console supports.</summary>
    public static T Show<T>(Func<ITrainingObserver, T> fit)
    {
        bool live = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
            && Environment.GetEnvironmentVariable("CI") is null or "" or "false";
        if (!live)
            return fit(new Lines());
        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context => fit(new Bars(context)));
    }

    public abstract void EpochStarted(int epoch, int epochs, int batches);

    public abstract void BatchCompleted(int epoch, int batch, int batches, double loss, double accuracy, double imagesPerSecond);

    public abstract void EpochCompleted(EpochMetrics metrics);

    protected static string Running(double loss, double accuracy, double imagesPerSecond) =>
        string.Create(CultureInfo.InvariantCulture, $"loss: {loss:F4} - accuracy: {accuracy:F4} - {imagesPerSecond:N0} images/s");

    protected static string Summary(EpochMetrics m)
    {
        var c = CultureInfo.InvariantCulture;
        string validation = m.ValidationLoss is { } vl ? string.Create(c, $" - val_loss: {vl:F4} - val_accuracy: {m.ValidationAccuracy:F4}") : "";
        return string.Create(c, $"{m.Seconds:F1}s - {m.ImagesPerSecond:N0} images/s - loss: {m.Loss:F4} - accuracy: {m.Accuracy:F4}{validation}");
    }

    private sealed class Bars(ProgressContext context) : ConsoleProgress
    {
        private ProgressTask? _task;
        private string _epoch = "";

        public override void EpochStarted(int epoch, int epochs, int batches)
        {
            _epoch = $"Epoch {epoch}/{epochs}";
            _task = context.AddTask(_epoch, maxValue: batches);
        }

        public override void BatchCompleted(int epoch, int batch, int batches, double loss, double accuracy, double imagesPerSecond)
        {
            _task!.Value = batch;
            _task.Description = Markup.Escape($"{_epoch} - {Running(loss, accuracy, imagesPerSecond)}");
        }

        public override void EpochCompleted(EpochMetrics metrics)
        {
            _task!.Description = Markup.Escape($"{_epoch} - {Summary(metrics)}");
            _task.StopTask();
        }
    }

    private sealed class Lines : ConsoleProgress
    {
        private DateTime _epochStart;
        private int _lastTenth;

        public override void EpochStarted(int epoch, int epochs, int batches)
        {
            _epochStart = DateTime.UtcNow;
            _lastTenth = 0;
            Console.WriteLine($"Epoch {epoch}/{epochs}");
        }

        public override void BatchCompleted(int epoch, int batch, int batches, double loss, double accuracy, double imagesPerSecond)
        {
            int tenth = 10 * batch / batches;
            if (tenth <= _lastTenth || batch == batches)
                return;
            _lastTenth = tenth;
            double elapsed = (DateTime.UtcNow - _epochStart).TotalSeconds;
            double eta = elapsed / batch * (batches - batch);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {batch}/{batches} - ETA: {eta:F0}s - {Running(loss, accuracy, imagesPerSecond)}"));
        }

        public override void EpochCompleted(EpochMetrics metrics) => Console.WriteLine("  " + Summary(metrics));
    }
}

using System.Globalization;
using Prelu.Training;
using Spectre.Console;

namespace Prelu.Mnist.Reporting;

/// <summary>
/// Keras's verbose=1 as lines: "Epoch 3/25", then progress with the running loss and accuracy, then the
/// epoch's summary. On a terminal the progress line is redrawn in place (a live bar with ETA); in a log
/// (output redirected, or CI) each epoch prints a few plain lines.
/// </summary>
public sealed class ConsoleProgress(bool live) : ITrainingObserver
{
    private const int BarWidth = 30;
    private DateTime _epochStart;
    private int _lastLoggedTenth;

    public static ConsoleProgress ForThisConsole() =>
        new(live: !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null or "" or "false"
            && AnsiConsole.Profile.Capabilities.Ansi);

    public void EpochStarted(int epoch, int epochs, int batches)
    {
        _epochStart = DateTime.UtcNow;
        _lastLoggedTenth = 0;
        Console.WriteLine($"Epoch {epoch}/{epochs}");
    }

    public void BatchCompleted(int epoch, int batch, int batches, double loss, double accuracy, double imagesPerSecond)
    {
        var c = CultureInfo.InvariantCulture;
        double elapsed = (DateTime.UtcNow - _epochStart).TotalSeconds;
        double eta = batch == 0 ? 0 : elapsed / batch * (batches - batch);
        string metrics = string.Create(c, $"loss: {loss:F4} - accuracy: {accuracy:F4} - {imagesPerSecond:N0} images/s");
        if (live)
        {
            int filled = BarWidth * batch / batches;
            string bar = new string('=', Math.Max(filled - 1, 0)) + (filled > 0 ? (batch == batches ? "=" : ">") : "") + new string('.', BarWidth - filled);
            Console.Write(string.Create(c, $"\r{batch,4}/{batches} [{bar}] - ETA: {eta,3:F0}s - {metrics}   "));
            return;
        }
        int tenth = 10 * batch / batches;
        if (tenth > _lastLoggedTenth && batch < batches)
        {
            _lastLoggedTenth = tenth;
            Console.WriteLine(string.Create(c, $"  {batch}/{batches} - ETA: {eta:F0}s - {metrics}"));
        }
    }

    public void EpochCompleted(EpochMetrics metrics)
    {
        var m = metrics;
        var c = CultureInfo.InvariantCulture;
        if (live)
            Console.WriteLine();
        string validation = m.ValidationLoss is { } vl ? string.Create(c, $" - val_loss: {vl:F4} - val_accuracy: {m.ValidationAccuracy:F4}") : "";
        Console.WriteLine(string.Create(c, $"  {m.Seconds:F1}s - {m.ImagesPerSecond:N0} images/s - loss: {m.Loss:F4} - accuracy: {m.Accuracy:F4}{validation}"));
    }
}

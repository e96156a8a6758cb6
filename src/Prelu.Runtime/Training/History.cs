namespace Prelu;

/// <summary>One epoch as Keras's History records it, plus the time it took.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Metrics">Every metric by Keras's name (<see cref="MetricNames"/>): "loss", "accuracy" or "mae", "mse", "rmse", and the same with "val_" when the fit validates.</param>
/// <param name="Seconds">Wall time of the training part of the epoch (validation excluded).</param>
/// <param name="ImagesPerSecond">Training samples per second over the epoch.</param>
public sealed record EpochMetrics(int Epoch, IReadOnlyDictionary<string, double> Metrics, double Seconds, double ImagesPerSecond)
{
    /// <summary>The training loss.</summary>
    public double Loss => Metrics[MetricNames.Loss];

    /// <summary>Keras's accuracy; NaN for a model whose loss has none (a regression's).</summary>
    public double Accuracy => Value(MetricNames.Accuracy) ?? double.NaN;

    /// <summary>The validation loss; null without validation.</summary>
    public double? ValidationLoss => Value(MetricNames.ValidationPrefix + MetricNames.Loss);

    /// <summary>The validation accuracy; null without validation (NaN for a regression).</summary>
    public double? ValidationAccuracy => Value(MetricNames.ValidationPrefix + MetricNames.Accuracy);

    private double? Value(string name) => Metrics.TryGetValue(name, out double value) ? value : null;

    // Equal when every figure is: a dictionary compares by reference otherwise.
    /// <summary>Equal when every figure is.</summary>
    public bool Equals(EpochMetrics? other) => other is not null && Epoch == other.Epoch && Seconds.Equals(other.Seconds) &&
        ImagesPerSecond.Equals(other.ImagesPerSecond) && Metrics.Count == other.Metrics.Count &&
        Metrics.All(m => other.Metrics.TryGetValue(m.Key, out double v) && v.Equals(m.Value));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Epoch, Seconds, ImagesPerSecond, Metrics.Count);
}

/// <summary>Keras's <c>History</c>: every metric per epoch (loss, accuracy, val_loss, val_accuracy, ...; <see cref="Of"/>).</summary>
public sealed class History
{
    private readonly List<EpochMetrics> _epochs = [];

    /// <summary>Every epoch, in order.</summary>
    public IReadOnlyList<EpochMetrics> Epochs => _epochs;

    /// <summary>The training loss per epoch.</summary>
    public IEnumerable<double> Loss => _epochs.Select(e => e.Loss);
    /// <summary>The training accuracy per epoch (NaN for a regression).</summary>
    public IEnumerable<double> Accuracy => _epochs.Select(e => e.Accuracy);
    /// <summary>The validation loss per epoch (null without validation).</summary>
    public IEnumerable<double?> ValidationLoss => _epochs.Select(e => e.ValidationLoss);
    /// <summary>The validation accuracy per epoch (null without validation).</summary>
    public IEnumerable<double?> ValidationAccuracy => _epochs.Select(e => e.ValidationAccuracy);

    /// <summary>Keras's <c>history.history[name]</c>: a metric's value per epoch ("mae", "val_rmse", ...).</summary>
    public IEnumerable<double> Of(string name) => _epochs.Select(e => e.Metrics.TryGetValue(name, out double value)
        ? value
        : throw new KeyNotFoundException($"the history has no metric '{name}'; it has {string.Join(", ", e.Metrics.Keys)}"));

    internal void Add(EpochMetrics epoch) => _epochs.Add(epoch);
}

/// <summary>What a training loop tells whoever shows progress: Keras's verbose=1 bar, a log, a test.</summary>
public interface ITrainingObserver
{
    /// <summary>Before an epoch's first batch.</summary>
    /// <param name="epoch">1-based.</param>
    /// <param name="epochs">The fit's number of epochs.</param>
    /// <param name="batches">The epoch's number of batches.</param>
    void EpochStarted(int epoch, int epochs, int batches);

    /// <summary>After a batch, at most every <see cref="FitOptions.ProgressInterval"/> and after the epoch's last.</summary>
    /// <param name="epoch">1-based.</param>
    /// <param name="batch">The batches done so far in this epoch, 1-based.</param>
    /// <param name="batches">The epoch's number of batches.</param>
    /// <param name="running">The epoch's running means so far by Keras's names: "loss" and "accuracy", or "loss", "mae", "mse" and "rmse".</param>
    /// <param name="samplesPerSecond">Training samples per second so far in this epoch.</param>
    void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond);

    /// <summary>After an epoch and its validation, with every metric of the epoch.</summary>
    void EpochCompleted(EpochMetrics metrics);
}

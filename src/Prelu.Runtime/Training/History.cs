namespace Prelu.Training;

/// <summary>One epoch as Keras's History records it, plus the time it took.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Seconds">Wall time of the training part of the epoch (validation excluded).</param>
/// <param name="ImagesPerSecond">Training samples per second over the epoch.</param>
public sealed record EpochMetrics(int Epoch, double Loss, double Accuracy, double? ValidationLoss, double? ValidationAccuracy,
    double Seconds, double ImagesPerSecond);

/// <summary>Keras's <c>History</c>: loss, accuracy, val_loss, val_accuracy per epoch.</summary>
public sealed class History
{
    private readonly List<EpochMetrics> _epochs = [];

    public IReadOnlyList<EpochMetrics> Epochs => _epochs;

    public IEnumerable<double> Loss => _epochs.Select(e => e.Loss);
    public IEnumerable<double> Accuracy => _epochs.Select(e => e.Accuracy);
    public IEnumerable<double?> ValidationLoss => _epochs.Select(e => e.ValidationLoss);
    public IEnumerable<double?> ValidationAccuracy => _epochs.Select(e => e.ValidationAccuracy);

    internal void Add(EpochMetrics epoch) => _epochs.Add(epoch);
}

/// <summary>What a training loop tells whoever shows progress: Keras's verbose=1 bar, a log, a test.</summary>
public interface ITrainingObserver
{
    void EpochStarted(int epoch, int epochs, int batches);

    /// <summary>After a batch; <paramref name="loss"/> and <paramref name="accuracy"/> are the epoch's running means so far.</summary>
    void BatchCompleted(int epoch, int batch, int batches, double loss, double accuracy, double imagesPerSecond);

    void EpochCompleted(EpochMetrics metrics);
}

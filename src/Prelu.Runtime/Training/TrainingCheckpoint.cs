using System.Globalization;

namespace Prelu;

/// <summary>Where a <see cref="Trainer.Fit"/> stopped: the next epoch (1-based) and batch (0-based), the epoch's running metric sums, and the history so far.</summary>
/// <param name="Epoch">The next epoch to train, 1-based.</param>
/// <param name="Batch">The next batch of that epoch, 0-based.</param>
/// <param name="MetricSums">The epoch's running metric sums so far (<see cref="Kernels.MetricSlot"/>).</param>
/// <param name="History">The epochs finished.</param>
/// <param name="Stopped">A callback ended the fit after the epoch before <paramref name="Epoch"/>: resuming trains nothing more.</param>
internal sealed record TrainingPosition(int Epoch, int Batch, float[] MetricSums, IReadOnlyList<EpochMetrics> History, bool Stopped = false);

/// <summary>
/// The training loop's part of a checkpoint: beside the weights and the optimizer state (which
/// <see cref="Checkpoint"/> writes), where the loop stands and the settings it must be resumed with. The
/// shuffle order is not stored: it is a function of the fit seed and the epoch, replayed on resume. With the
/// model seed (dropout masks) and the optimizer's step count, that is all a run needs to continue to the bit.
/// </summary>
internal static class TrainingCheckpoint
{
    private const string Prefix = Checkpoint.TrainerPrefix;
    private const string MetricsTensor = Prefix + "metrics";
    private const string CallbackPrefix = Prefix + "callbacks.";

    public static void Save(string path, CompiledModel model, Optimizer optimizer, FitOptions options, int trainCount, TrainingPosition position)
    {
        var metadata = new Dictionary<string, string>
        {
            [Prefix + "epoch"] = Text(position.Epoch),
            [Prefix + "batch"] = Text(position.Batch),
            [Prefix + "history"] = HistoryText(position.History),
            [Prefix + "stopped"] = position.Stopped ? "true" : "false",
        };
        foreach (var (key, value, _) in Settings(options, trainCount))
            metadata[key] = value;
        var tensors = new List<NamedTensor> { new(MetricsTensor, [position.MetricSums.Length], position.MetricSums) };
        foreach (var callback in options.Callbacks ?? [])
        {
            var (fields, own) = callback.State();
            foreach (var (key, value) in fields)
                metadata[$"{CallbackPrefix}{callback.Name}.{key}"] = value;
            tensors.AddRange(own.Select(t => t with { Name = $"{CallbackPrefix}{callback.Name}.{t.Name}" }));
        }
        Checkpoint.Save(path, model, optimizer, metadata, tensors, beforeRename: null);
    }

    /// <summary>
    /// Checks that the checkpoint at <paramref name="path"/> continues this very fit (model, seed, data size,
    /// batch size, shuffling, validation split, fit seed), then loads weights and optimizer state and returns
    /// the position. Nothing is changed when a check fails.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">The checkpoint belongs to another model or another fit.</exception>
    public static TrainingPosition Load(string path, CompiledModel model, Optimizer optimizer, FitOptions options, int trainCount)
    {
        var (tensors, metadata) = SafeTensors.ReadWithMetadata(path);
        string Field(string key) => metadata.TryGetValue(key, out var value)
            ? value
            : throw new CheckpointMismatchException(path, $"__metadata__.{key}", "missing: this is not a checkpoint written by Trainer.Fit, so there is nothing to resume");
        if (Field("model") != model.Name)
            throw new CheckpointMismatchException(path, "__metadata__.model", $"is {Field("model")}; resuming {model.Name}");
        if (Field("seed") != model.Seed.ToString(CultureInfo.InvariantCulture))
            throw new CheckpointMismatchException(path, "__metadata__.seed", $"the run was initialised with seed {Field("seed")}, this model with {model.Seed}: its dropout masks would differ");
        foreach (var (key, expected, absent) in Settings(options, trainCount))
        {
            string actual = absent is not null && !metadata.ContainsKey(key) ? absent : Field(key);
            if (actual != expected)
                throw new CheckpointMismatchException(path, $"__metadata__.{key}", $"is {actual}, this fit has {expected}: the run cannot continue with other settings");
        }
        int epoch = Count(path, Prefix + "epoch", Field(Prefix + "epoch"), 1, options.Epochs + 1);
        int batches = (trainCount + options.BatchSize - 1) / options.BatchSize;
        int batch = Count(path, Prefix + "batch", Field(Prefix + "batch"), 0, batches - 1);
        var history = ParseHistory(path, Field(Prefix + "history"));
        if (history.Count != epoch - 1)
            throw new CheckpointMismatchException(path, $"__metadata__.{Prefix}history", $"holds {history.Count} epochs; the run stopped in epoch {epoch}");
        // Checkpoints written before the error sums joined the metrics hold the loss and accuracy sums only.
        if (!tensors.TryGetValue(MetricsTensor, out var sums) || sums.Values.Length is not (Kernels.MetricSlot.Count or LossAndAccuracyOnly))
            throw new CheckpointMismatchException(path, MetricsTensor, $"missing or not {Kernels.MetricSlot.Count} values");
        Checkpoint.Load(path, tensors, metadata, model, optimizer);
        foreach (var callback in options.Callbacks ?? [])
        {
            string prefix = $"{CallbackPrefix}{callback.Name}.";
            callback.Restore(
                key => metadata.TryGetValue(prefix + key, out var value) ? value
                    : throw new CheckpointMismatchException(path, $"__metadata__.{prefix}{key}", "missing: the run's callback state"),
                name => tensors.TryGetValue(prefix + name, out var tensor) ? tensor
                    : throw new CheckpointMismatchException(path, prefix + name, "missing: the run's callback state"),
                model, optimizer);
        }
        var metrics = new float[Kernels.MetricSlot.Count];
        sums.Values.CopyTo(metrics, 0);
        bool stopped = metadata.TryGetValue(Prefix + "stopped", out var flag) && flag == "true";
        return new TrainingPosition(epoch, batch, metrics, history, stopped);
    }

    private const int LossAndAccuracyOnly = 2;

    // What must be the same for a resumed fit to be the fit that was interrupted, and for a setting added after
    // checkpoints were first written, the value a checkpoint without it stands for.
    private static IEnumerable<(string Key, string Value, string? Absent)> Settings(FitOptions options, int trainCount)
    {
        yield return (Prefix + "train_count", Text(trainCount), null);
        yield return (Prefix + "batch_size", Text(options.BatchSize), null);
        yield return (Prefix + "shuffle", options.Shuffle ? "true" : "false", null);
        yield return (Prefix + "fit_seed", options.Seed.ToString(CultureInfo.InvariantCulture), null);
        yield return (Prefix + "validation_split", options.ValidationSplit.ToString("R", CultureInfo.InvariantCulture), null);
        yield return (Prefix + "shift", Text(options.Shift), "0"); // fits before the option moved no image
        yield return (Prefix + "rotation", options.Rotation.ToString("R", CultureInfo.InvariantCulture), "0"); // nor turned one
        yield return (Prefix + "zoom", options.Zoom.ToString("R", CultureInfo.InvariantCulture), "0"); // nor scaled one
        yield return (Prefix + "callbacks", string.Join(",", (options.Callbacks ?? []).Select(c => c.Name)), ""); // nor had callbacks
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static int Count(string path, string key, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new CheckpointMismatchException(path, $"__metadata__.{key}", $"is '{text}'; expected a count from {min} to {max}");

    // One epoch per line: epoch, loss, accuracy, validation loss and accuracy ("-" when none), seconds, images/s;
    // doubles in round-trip form, so that a resumed history is the interrupted one to the bit.
    // A line per epoch: "epoch seconds rate name=value name=value ...", every metric by name.
    private static string HistoryText(IReadOnlyList<EpochMetrics> history) => string.Join("\n", history.Select(e => string.Join(" ",
        new[] { Text(e.Epoch), R(e.Seconds), R(e.ImagesPerSecond) }.Concat(e.Metrics.Select(m => $"{m.Key}={R(m.Value)}")))));

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    // Lines as HistoryText writes them; a checkpoint written before the metrics were named has "epoch loss accuracy
    // val_loss val_accuracy seconds rate" (a validation figure "-" when the fit did not validate).
    private static List<EpochMetrics> ParseHistory(string path, string text)
    {
        var epochs = new List<EpochMetrics>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            double Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                ? v
                : throw new CheckpointMismatchException(path, $"__metadata__.{Prefix}history", $"line '{line}' holds '{s}', not a number");
            if (f.Length < 4 || !int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) || epoch != epochs.Count + 1)
                throw new CheckpointMismatchException(path, $"__metadata__.{Prefix}history", $"line '{line}' is not epoch {epochs.Count + 1} with its figures");
            var metrics = new Dictionary<string, double>();
            if (!f[3].Contains('='))
            {
                if (f.Length != 7)
                    throw new CheckpointMismatchException(path, $"__metadata__.{Prefix}history", $"line '{line}' is not epoch {epochs.Count + 1} with its 6 figures");
                string[] names = [MetricNames.Loss, MetricNames.Accuracy, MetricNames.ValidationPrefix + MetricNames.Loss, MetricNames.ValidationPrefix + MetricNames.Accuracy];
                for (int i = 0; i < 4; i++)
                {
                    if (f[1 + i] != "-")
                        metrics[names[i]] = Number(f[1 + i]);
                }
                epochs.Add(new EpochMetrics(epoch, metrics, Number(f[5]), Number(f[6])));
                continue;
            }
            foreach (var pair in f.Skip(3))
            {
                int equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals < 1)
                    throw new CheckpointMismatchException(path, $"__metadata__.{Prefix}history", $"line '{line}' holds '{pair}', not name=value");
                metrics[pair[..equals]] = Number(pair[(equals + 1)..]);
            }
            epochs.Add(new EpochMetrics(epoch, metrics, Number(f[1]), Number(f[2])));
        }
        return epochs;
    }
}

using System.Globalization;

namespace Prelu;

/// <summary>
/// Keras's callbacks: told of every epoch's metrics by <see cref="Trainer.Fit"/> (in the order given), able to stop the
/// fit, change the optimizer's rate or save the model. What one remembers between epochs is saved in the fit's
/// checkpoint beside the loop's own state, so that a resumed fit goes on to the very bits of one never stopped.
/// </summary>
public abstract class Callback
{
    /// <summary>Where its state goes in a checkpoint ("early_stopping", ...): unique among a fit's callbacks.</summary>
    public abstract string Name { get; }

    /// <summary>Before the first epoch of a fit (not of a resumed one, whose state <see cref="Restore"/> brings back).</summary>
    protected internal virtual void FitStarted(CompiledModel model, Optimizer optimizer)
    {
    }

    /// <summary>After an epoch, validation included; true stops the fit there (Keras's <c>model.stop_training</c>).</summary>
    protected internal abstract bool EpochEnded(EpochMetrics metrics, CompiledModel model, Optimizer optimizer);

    /// <summary>What it remembers, as text fields and tensors, for a checkpoint.</summary>
    protected internal abstract (IReadOnlyDictionary<string, string> Fields, IReadOnlyList<NamedTensor> Tensors) State();

    /// <summary>Brings back what <see cref="State"/> saved; <paramref name="field"/> and <paramref name="tensor"/> throw for a missing entry.</summary>
    protected internal abstract void Restore(Func<string, string> field, Func<string, NamedTensor> tensor, CompiledModel model, Optimizer optimizer);

    /// <summary>The metric a callback watches, and which way is better (Keras's mode "auto": "max" for an accuracy, else "min").</summary>
    protected static bool Maximizes(string monitor, string mode) => mode switch
    {
        "min" => false,
        "max" => true,
        "auto" => monitor.EndsWith(MetricNames.Accuracy, StringComparison.Ordinal),
        _ => throw new ArgumentException($"mode must be \"auto\", \"min\" or \"max\", not \"{mode}\"", nameof(mode)),
    };

    /// <summary>The watched metric's value this epoch; an error naming the metrics there are when it is not one.</summary>
    protected double Monitored(EpochMetrics metrics, string monitor) => metrics.Metrics.TryGetValue(monitor, out double value)
        ? value
        : throw new InvalidOperationException($"{Name} watches '{monitor}', which the fit does not report; it reports {string.Join(", ", metrics.Metrics.Keys)}" +
            (monitor.StartsWith(MetricNames.ValidationPrefix, StringComparison.Ordinal) ? " (a val_ metric needs FitOptions.ValidationSplit)" : ""));

    /// <summary>A number as <see cref="State"/> saves it: round-trip, invariant.</summary>
    protected static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A count as <see cref="State"/> saves it.</summary>
    protected static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A number <see cref="Text(double)"/> wrote.</summary>
    protected static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>A count <see cref="Text(int)"/> wrote.</summary>
    protected static int Count(string text) => int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
}

/// <summary>
/// Keras's <c>EarlyStopping</c>: stops when <see cref="Monitor"/> has not improved by more than <see cref="MinDelta"/> for
/// <see cref="Patience"/> epochs; with <see cref="RestoreBestWeights"/>, the weights of the best epoch (parameters and
/// non-trainable state) are put back when it stops.
/// </summary>
public sealed class EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, string mode = "auto",
    bool restoreBestWeights = false) : Callback
{
    private readonly bool _maximize = Maximizes(monitor, mode);
    private double _best;
    private int _wait, _bestEpoch;
    private float[]? _bestParameters, _bestStates;

    /// <inheritdoc />
    public override string Name => "early_stopping";

    /// <summary>The metric watched ("val_loss", ...).</summary>
    public string Monitor => monitor;
    /// <summary>The least change that counts as an improvement.</summary>
    public double MinDelta { get; } = Math.Abs(minDelta);
    /// <summary>Epochs without improvement before the fit stops.</summary>
    public int Patience { get; } = patience >= 0 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be 0 or more");
    /// <summary>Whether the best epoch's weights come back when the fit stops.</summary>
    public bool RestoreBestWeights => restoreBestWeights;

    /// <summary>The epoch it stopped the fit after (1-based), or 0.</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>The epoch whose value of the monitored metric was the best so far (1-based), or 0.</summary>
    public int BestEpoch => _bestEpoch;

    /// <inheritdoc />
    protected internal override void FitStarted(CompiledModel model, Optimizer optimizer)
    {
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
        (_wait, _bestEpoch, StoppedEpoch, _bestParameters, _bestStates) = (0, 0, 0, null, null);
    }

    /// <inheritdoc />
    protected internal override bool EpochEnded(EpochMetrics metrics, CompiledModel model, Optimizer optimizer)
    {
        double current = Monitored(metrics, monitor);
        // Keras: an improvement is better than the best by more than min_delta.
        if (_maximize ? current - MinDelta > _best : current + MinDelta < _best)
        {
            (_best, _wait, _bestEpoch) = (current, 0, metrics.Epoch);
            if (restoreBestWeights)
                (_bestParameters, _bestStates) = (model.Backend.ToArray(model.ParameterArena), model.Backend.ToArray(model.StateArena));
            return false;
        }
        _wait++;
        if (_wait < Patience || metrics.Epoch <= 1)
            return false;
        StoppedEpoch = metrics.Epoch;
        if (restoreBestWeights && _bestParameters is not null)
        {
            model.Backend.Upload(_bestParameters, model.ParameterArena);
            model.Backend.Upload(_bestStates!, model.StateArena);
        }
        return true;
    }

    /// <inheritdoc />
    protected internal override (IReadOnlyDictionary<string, string> Fields, IReadOnlyList<NamedTensor> Tensors) State()
    {
        var fields = new Dictionary<string, string>
        {
            ["best"] = Text(_best), ["wait"] = Text(_wait), ["best_epoch"] = Text(_bestEpoch), ["stopped_epoch"] = Text(StoppedEpoch),
        };
        IReadOnlyList<NamedTensor> tensors = _bestParameters is null ? [] :
            [new NamedTensor("best_parameters", [_bestParameters.Length], _bestParameters), new NamedTensor("best_states", [_bestStates!.Length], _bestStates)];
        return (fields, tensors);
    }

    /// <inheritdoc />
    protected internal override void Restore(Func<string, string> field, Func<string, NamedTensor> tensor, CompiledModel model, Optimizer optimizer)
    {
        (_best, _wait, _bestEpoch, StoppedEpoch) = (Number(field("best")), Count(field("wait")), Count(field("best_epoch")), Count(field("stopped_epoch")));
        (_bestParameters, _bestStates) = restoreBestWeights && _bestEpoch > 0 ? (tensor("best_parameters").Values, tensor("best_states").Values) : (null, null);
    }
}

/// <summary>
/// Keras's <c>ReduceLROnPlateau</c>: when <see cref="Monitor"/> has not improved by more than <see cref="MinDelta"/> for
/// <see cref="Patience"/> epochs, the learning rate is multiplied by <see cref="Factor"/> (not below <see cref="MinLearningRate"/>),
/// then <see cref="Cooldown"/> epochs pass before it counts again. The optimizer must have a constant rate, as in Keras.
/// </summary>
public sealed class ReduceLROnPlateau(string monitor = "val_loss", float factor = 0.1f, int patience = 10, string mode = "auto",
    double minDelta = 1e-4, int cooldown = 0, float minLearningRate = 0f) : Callback
{
    private readonly bool _maximize = Maximizes(monitor, mode);
    private double _best;
    private int _wait, _cooldownLeft;

    /// <inheritdoc />
    public override string Name => "reduce_lr_on_plateau";

    /// <summary>The metric watched ("val_loss", ...).</summary>
    public string Monitor => monitor;
    /// <summary>What the rate is multiplied by, in (0, 1).</summary>
    public float Factor { get; } = factor is > 0f and < 1f ? factor : throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in (0, 1)");
    /// <summary>Epochs without improvement before the rate is lowered.</summary>
    public int Patience { get; } = patience >= 0 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be 0 or more");
    /// <summary>The least change that counts as an improvement.</summary>
    public double MinDelta => minDelta;
    /// <summary>Epochs after a reduction before waiting starts again.</summary>
    public int Cooldown => cooldown;
    /// <summary>The lowest rate it sets.</summary>
    public float MinLearningRate => minLearningRate;

    /// <inheritdoc />
    protected internal override void FitStarted(CompiledModel model, Optimizer optimizer)
    {
        if (optimizer.Schedule is not null)
            throw new ArgumentException("ReduceLROnPlateau changes a constant learning rate; this optimizer follows a schedule", nameof(optimizer));
        (_best, _wait, _cooldownLeft, _rate) = (_maximize ? double.NegativeInfinity : double.PositiveInfinity, 0, 0, null);
        optimizer.LearningRateOverride = null;
    }

    /// <inheritdoc />
    protected internal override bool EpochEnded(EpochMetrics metrics, CompiledModel model, Optimizer optimizer)
    {
        double current = Monitored(metrics, monitor);
        if (_cooldownLeft > 0)
        {
            _cooldownLeft--;
            _wait = 0;
        }
        if (_maximize ? current > _best + minDelta : current < _best - minDelta)
        {
            (_best, _wait) = (current, 0);
        }
        else if (_cooldownLeft == 0 && ++_wait >= Patience)
        {
            float rate = optimizer.LearningRateOverride ?? optimizer.BaseLearningRate;
            if (rate > minLearningRate)
            {
                optimizer.LearningRateOverride = _rate = Math.Max(rate * Factor, minLearningRate);
                (_cooldownLeft, _wait) = (cooldown, 0);
            }
        }
        return false;
    }

    // The optimizer's lowered rate is part of what it remembers: a resumed fit goes on at it.
    private float? _rate;

    /// <inheritdoc />
    protected internal override (IReadOnlyDictionary<string, string> Fields, IReadOnlyList<NamedTensor> Tensors) State() =>
        (new Dictionary<string, string>
        {
            ["best"] = Text(_best), ["wait"] = Text(_wait), ["cooldown_left"] = Text(_cooldownLeft),
            ["learning_rate"] = _rate is { } rate ? rate.ToString("R", CultureInfo.InvariantCulture) : "",
        }, []);

    /// <inheritdoc />
    protected internal override void Restore(Func<string, string> field, Func<string, NamedTensor> tensor, CompiledModel model, Optimizer optimizer)
    {
        (_best, _wait, _cooldownLeft) = (Number(field("best")), Count(field("wait")), Count(field("cooldown_left")));
        string rate = field("learning_rate");
        _rate = rate.Length == 0 ? null : float.Parse(rate, NumberStyles.Float, CultureInfo.InvariantCulture);
        optimizer.LearningRateOverride = _rate;
    }
}

/// <summary>
/// Keras's <c>ModelCheckpoint</c>: saves the model and optimizer to <see cref="Path"/> after every epoch, or with
/// <see cref="SaveBestOnly"/> only after an epoch whose <see cref="Monitor"/> is the best so far.
/// </summary>
public sealed class ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false, string mode = "auto") : Callback
{
    private readonly bool _maximize = Maximizes(monitor, mode);
    private double _best;

    /// <inheritdoc />
    public override string Name => "model_checkpoint";

    /// <summary>The file the model is saved to.</summary>
    public string Path => path;
    /// <summary>The metric watched ("val_loss", ...).</summary>
    public string Monitor => monitor;
    /// <summary>Save only when the metric improves, else after every epoch.</summary>
    public bool SaveBestOnly => saveBestOnly;

    /// <inheritdoc />
    protected internal override void FitStarted(CompiledModel model, Optimizer optimizer) =>
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;

    /// <inheritdoc />
    protected internal override bool EpochEnded(EpochMetrics metrics, CompiledModel model, Optimizer optimizer)
    {
        if (saveBestOnly)
        {
            double current = Monitored(metrics, monitor);
            if (!(_maximize ? current > _best : current < _best))
                return false;
            _best = current;
        }
        Checkpoint.Save(path, model, optimizer);
        return false;
    }

    /// <inheritdoc />
    protected internal override (IReadOnlyDictionary<string, string> Fields, IReadOnlyList<NamedTensor> Tensors) State() =>
        (new Dictionary<string, string> { ["best"] = Text(_best) }, []);

    /// <inheritdoc />
    protected internal override void Restore(Func<string, string> field, Func<string, NamedTensor> tensor, CompiledModel model, Optimizer optimizer) =>
        _best = Number(field("best"));
}

using Prelu.Kernels;

namespace Prelu;

/// <summary>
/// Updates a model's whole parameter arena from its gradient arena in one kernel call (the parameters
/// are contiguous), then applies each parameter's constraint. Holds its state on the model's backend.
/// </summary>
public abstract class Optimizer : IDisposable
{
    /// <summary>Updates applied so far; Adam's bias correction counts from 1.</summary>
    public long Iterations { get; protected set; }

    /// <summary>"adam", "sgd": the name in checkpoints.</summary>
    public abstract string Name { get; }

    /// <summary>A learning-rate schedule that replaces the settings' constant learning rate; none by default.</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>The rate the settings give (before a schedule or an override).</summary>
    public abstract float BaseLearningRate { get; }

    /// <summary>A rate that replaces the settings' constant one (<see cref="ReduceLROnPlateau"/> lowers it); null: the settings'.</summary>
    public float? LearningRateOverride { get; set; }

    /// <summary>
    /// The learning rate of the update being applied: the schedule's at the updates made before it, else the override,
    /// else <paramref name="constant"/>, the settings'.
    /// </summary>
    protected float LearningRate(float constant) => Schedule?.At(Iterations - 1) ?? LearningRateOverride ?? constant;

    /// <summary>One update of every parameter of <paramref name="model"/> from its gradients.</summary>
    public void Step(CompiledModel model)
    {
        Iterations++;
        Update(model);
        model.ApplyConstraints();
    }

    /// <summary>Updates every parameter of <paramref name="model"/> from its gradients (<see cref="Iterations"/> already counts this update).</summary>
    protected abstract void Update(CompiledModel model);

    /// <summary>Named state tensors (for checkpoints), laid out as the parameter arena.</summary>
    public abstract IReadOnlyList<(string Name, DeviceBuffer Buffer)> State(CompiledModel model);

    /// <summary>Frees the optimizer's state buffers.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the optimizer holds, once.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Restores the iteration count (checkpoints).</summary>
    public void RestoreIterations(long iterations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        Iterations = iterations;
    }
}

/// <summary>Adam as Keras computes it (see <see cref="AdamSettings"/>).</summary>
public sealed class Adam(AdamSettings settings) : Optimizer
{
    private DeviceBuffer? _m, _v;

    /// <summary>Adam with Keras's defaults.</summary>
    public Adam() : this(new AdamSettings())
    {
    }

    /// <summary>Its learning rate, betas and epsilon.</summary>
    public AdamSettings Settings { get; } = settings;

    /// <inheritdoc />
    public override string Name => "adam";

    /// <inheritdoc />
    public override float BaseLearningRate => Settings.LearningRate;

    /// <inheritdoc />
    protected override void Update(CompiledModel model)
    {
        EnsureState(model);
        model.Backend.AdamUpdate(Settings with { LearningRate = LearningRate(Settings.LearningRate) }, Iterations, model.ParameterArena,
            model.GradientArena, _m!, _v!);
    }

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, DeviceBuffer Buffer)> State(CompiledModel model)
    {
        EnsureState(model);
        return [("m", _m!), ("v", _v!)];
    }

    private void EnsureState(CompiledModel model)
    {
        if (_m is not null && _m.Owner == model.Backend && _m.Length == model.ParameterArena.Length)
            return;
        _m?.Dispose();
        _v?.Dispose();
        _m = model.Backend.Allocate(model.ParameterArena.Length);
        _v = model.Backend.Allocate(model.ParameterArena.Length);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _m?.Dispose();
            _v?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>SGD as Keras computes it, with optional (Nesterov) momentum.</summary>
public sealed class Sgd(SgdSettings settings) : Optimizer
{
    private DeviceBuffer? _velocity;

    /// <summary>Its learning rate and momentum.</summary>
    public SgdSettings Settings { get; } = settings;

    /// <inheritdoc />
    public override string Name => "sgd";

    /// <inheritdoc />
    public override float BaseLearningRate => Settings.LearningRate;

    /// <inheritdoc />
    protected override void Update(CompiledModel model)
    {
        if (Settings.Momentum != 0f && (_velocity is null || _velocity.Owner != model.Backend))
            _velocity = model.Backend.Allocate(model.ParameterArena.Length);
        model.Backend.SgdUpdate(Settings with { LearningRate = LearningRate(Settings.LearningRate) }, model.ParameterArena, model.GradientArena,
            Settings.Momentum != 0f ? _velocity : null);
    }

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, DeviceBuffer Buffer)> State(CompiledModel model)
    {
        if (Settings.Momentum == 0f)
            return [];
        _velocity ??= model.Backend.Allocate(model.ParameterArena.Length);
        return [("velocity", _velocity)];
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _velocity?.Dispose();
        base.Dispose(disposing);
    }
}

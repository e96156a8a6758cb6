namespace Prelu;

/// <summary>
/// Keras's learning-rate schedules: the learning rate as a function of the optimizer's iteration count (0 for
/// the first update). Set one as an optimizer's <see cref="Optimizer.Schedule"/>; it replaces the settings'
/// constant learning rate, as passing a schedule as Keras's <c>learning_rate</c> does. A resumed run restores
/// the iteration count, and so the schedule's place.
/// </summary>
public abstract record LearningRateSchedule
{
    /// <summary>The learning rate of the update after <paramref name="iteration"/> earlier ones.</summary>
    public abstract float At(long iteration);
}

/// <summary>
/// Keras's <c>ExponentialDecay</c>: lr = initial * rate^(iteration / steps), in float32 as Keras computes it;
/// with <see cref="Staircase"/> the exponent is rounded down, so that the rate drops every <see cref="DecaySteps"/> updates.
/// </summary>
public sealed record ExponentialDecay : LearningRateSchedule
{
    /// <summary>Keras's ExponentialDecay: <paramref name="initialLearningRate"/> times <paramref name="decayRate"/> to the power step / <paramref name="decaySteps"/> (rounded down with <paramref name="staircase"/>).</summary>
    public ExponentialDecay(float initialLearningRate, long decaySteps, float decayRate, bool staircase = false)
    {
        if (!(initialLearningRate > 0f) || float.IsInfinity(initialLearningRate))
            throw new ArgumentOutOfRangeException(nameof(initialLearningRate), initialLearningRate, "ExponentialDecay: the initial learning rate must be a positive number");
        ArgumentOutOfRangeException.ThrowIfLessThan(decaySteps, 1);
        if (!(decayRate > 0f) || float.IsInfinity(decayRate))
            throw new ArgumentOutOfRangeException(nameof(decayRate), decayRate, "ExponentialDecay: the decay rate must be a positive number");
        InitialLearningRate = initialLearningRate;
        DecaySteps = decaySteps;
        DecayRate = decayRate;
        Staircase = staircase;
    }

    /// <summary>The rate at step 0.</summary>
    public float InitialLearningRate { get; }
    /// <summary>Steps per factor of the decay rate.</summary>
    public long DecaySteps { get; }
    /// <summary>The factor per decay steps.</summary>
    public float DecayRate { get; }
    /// <summary>Decay in whole steps of <see cref="DecaySteps"/>.</summary>
    public bool Staircase { get; }

    /// <inheritdoc />
    public override float At(long iteration)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        float exponent = (float)iteration / DecaySteps;
        if (Staircase)
            exponent = MathF.Floor(exponent);
        return InitialLearningRate * MathF.Pow(DecayRate, exponent);
    }
}

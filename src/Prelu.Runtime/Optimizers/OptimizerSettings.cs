namespace Prelu;

/// <summary>Adam with Keras's defaults (learning rate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7).</summary>
public readonly record struct AdamSettings(float LearningRate = 0.001f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-7f)
{
    /// <summary>Keras's defaults.</summary>
    public AdamSettings() : this(0.001f)
    {
    }

    /// <summary>
    /// Keras's step size at <paramref name="step"/> (1 for the first update), in float32 as Keras computes
    /// it: lr * sqrt(1 - beta2^t) / (1 - beta1^t). Keras adds epsilon to sqrt(v) before this correction,
    /// unlike the Adam paper and PyTorch, which correct v first.
    /// </summary>
    public float StepSize(long step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        float beta1Power = MathF.Pow(Beta1, step);
        float beta2Power = MathF.Pow(Beta2, step);
        return LearningRate * MathF.Sqrt(1f - beta2Power) / (1f - beta1Power);
    }
}

/// <summary>SGD as Keras computes it: plain, with momentum, or with Nesterov momentum.</summary>
public readonly record struct SgdSettings(float LearningRate = 0.01f, float Momentum = 0f, bool Nesterov = false)
{
    /// <summary>Keras's defaults: learning rate 0.01, no momentum.</summary>
    public SgdSettings() : this(0.01f)
    {
    }
}

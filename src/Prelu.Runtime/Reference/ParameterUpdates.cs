using System.Numerics;
using Prelu.Kernels;

namespace Prelu.Reference;

/// <summary>Parameter updates, element-wise over a parameter (or a whole parameter arena) and its gradient.</summary>
internal static class ParameterUpdates
{
    /// <summary>
    /// Keras's Adam at step t (1 for the first update):
    /// m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2); w -= m * alpha_t / (sqrt(v) + epsilon),
    /// alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t).
    /// </summary>
    // param, grad, m, v: (L)
    public static void Adam<T>(in AdamSettings settings, long step, Span<T> param, ReadOnlySpan<T> grad, Span<T> m, Span<T> v)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("Adam", (nameof(grad), grad.Length, param.Length), (nameof(m), m.Length, param.Length), (nameof(v), v.Length, param.Length));
        T alpha = T.CreateChecked(settings.StepSize(step));
        T oneMinusBeta1 = T.CreateChecked(1f - settings.Beta1);
        T oneMinusBeta2 = T.CreateChecked(1f - settings.Beta2);
        T epsilon = T.CreateChecked(settings.Epsilon);
        for (int i = 0; i < param.Length; i++)
        {
            T g = grad[i];
            m[i] += (g - m[i]) * oneMinusBeta1;
            v[i] += (g * g - v[i]) * oneMinusBeta2;
            param[i] -= m[i] * alpha / (T.Sqrt(v[i]) + epsilon);
        }
    }

    /// <summary>
    /// Keras's SGD: without momentum w -= lr g; with momentum m = momentum m - lr g, then w += m, or
    /// with Nesterov w += momentum m - lr g. <paramref name="velocity"/> may be empty without momentum.
    /// </summary>
    // param, grad, velocity: (L)
    public static void Sgd<T>(in SgdSettings settings, Span<T> param, ReadOnlySpan<T> grad, Span<T> velocity)
        where T : IFloatingPointIeee754<T>
    {
        Check.Lengths("SGD", (nameof(grad), grad.Length, param.Length));
        T lr = T.CreateChecked(settings.LearningRate);
        if (settings.Momentum == 0f)
        {
            for (int i = 0; i < param.Length; i++)
                param[i] -= lr * grad[i];
            return;
        }
        Check.Lengths("SGD with momentum", (nameof(velocity), velocity.Length, param.Length));
        T momentum = T.CreateChecked(settings.Momentum);
        for (int i = 0; i < param.Length; i++)
        {
            velocity[i] = -grad[i] * lr + velocity[i] * momentum;
            param[i] += settings.Nesterov ? -grad[i] * lr + velocity[i] * momentum : velocity[i];
        }
    }
}

using Prelu.Backends;
using Prelu.Kernels;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>Adam's first steps on a two-weight problem against Keras's formula written out by hand.</summary>
public sealed class AdamByHandTests
{
    [Fact]
    public void The_first_three_steps_follow_kerass_formula()
    {
        using var backend = new ManagedBackend();
        float[] start = [1.0f, -2.0f];
        using var w = backend.Allocate(start);
        using var m = backend.Allocate(2);
        using var v = backend.Allocate(2);
        float[][] grads = [[0.5f, -0.1f], [0.3f, 0.2f], [-0.4f, 0.05f]];

        // Keras (optimizers/adam.py): alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t);
        // m += (g - m) * (1 - beta1); v += (g^2 - v) * (1 - beta2); w -= m * alpha / (sqrt(v) + epsilon).
        float[] expectedW = [.. start], expectedM = new float[2], expectedV = new float[2];
        for (int t = 1; t <= 3; t++)
        {
            float alpha = 0.001f * MathF.Sqrt(1f - MathF.Pow(0.999f, t)) / (1f - MathF.Pow(0.9f, t));
            for (int i = 0; i < 2; i++)
            {
                float gi = grads[t - 1][i];
                expectedM[i] += (gi - expectedM[i]) * (1f - 0.9f);
                expectedV[i] += (gi * gi - expectedV[i]) * (1f - 0.999f);
                expectedW[i] -= expectedM[i] * alpha / (MathF.Sqrt(expectedV[i]) + 1e-7f);
            }
            using var g = backend.Allocate(grads[t - 1]);
            backend.AdamUpdate(new AdamSettings(), t, w, g, m, v);

            Assert.Equal(expectedW, backend.ToArray(w));
            Assert.Equal(expectedM, backend.ToArray(m));
            Assert.Equal(expectedV, backend.ToArray(v));
        }

        // The first step moves each weight by about the learning rate, against its gradient's sign.
        Assert.InRange(start[0] - backend.ToArray(w)[0], 0.0005f, 0.003f);
    }

    [Fact]
    public void Kerass_defaults()
    {
        var adam = new AdamSettings();
        Assert.Equal((0.001f, 0.9f, 0.999f, 1e-7f), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon));
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.StepSize(0));
    }
}

namespace Prelu.Tests.Shared;

/// <summary>
/// Deterministic test data: a hash of the element index, the same formula as det() in
/// tests/reference/make_fixture.py, so that the PyTorch fixture need not store its inputs.
/// </summary>
public static class Det
{
    public static float[] Floats(int length, ulong seed, double lo = -1, double hi = 1)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            ulong h = ((ulong)(i + 1) * 0x9E3779B1UL + seed * 0x85EBCA77UL) & 0xFFFFFFFFUL;
            h ^= h >> 15;
            h = (h * 0x2C1B3C6DUL) & 0xFFFFFFFFUL;
            h ^= h >> 12;
            values[i] = (float)(lo + (hi - lo) * (h / 4294967296.0));
        }
        return values;
    }

    public static double[] Doubles(int length, ulong seed, double lo = -1, double hi = 1) =>
        Array.ConvertAll(Floats(length, seed, lo, hi), v => (double)v);

    /// <summary>One-hot labels with the class of sample b at (3b + 1) mod classes, as the fixture script makes them.</summary>
    public static float[] OneHot(int batch, int classes)
    {
        var labels = new float[batch * classes];
        for (int b = 0; b < batch; b++)
            labels[b * classes + (3 * b + 1) % classes] = 1f;
        return labels;
    }

    /// <summary>
    /// Targets for a batch as <paramref name="loss"/> reads them: one-hot rows (class (3 b + 1) mod K, as <see cref="OneHot"/>),
    /// those classes as indices for sparse targets, 0/1 labels with one soft label for binary cross-entropy, and values in
    /// [-1, 1) for the regression losses.
    /// </summary>
    public static float[] Targets(Prelu.Kernels.LossFunction loss, int batch, int outputs)
    {
        switch (loss.Kind)
        {
            case Prelu.Kernels.LossKind.CategoricalCrossentropy:
                return OneHot(batch, outputs);
            case Prelu.Kernels.LossKind.SparseCategoricalCrossentropy:
                return Enumerable.Range(0, batch).Select(b => (float)((3 * b + 1) % outputs)).ToArray();
            case Prelu.Kernels.LossKind.BinaryCrossentropy:
                var labels = Floats(batch * outputs, 41).Select(v => v > 0 ? 1f : 0f).ToArray();
                labels[0] = 0.25f;
                return labels;
            default:
                return Floats(batch * outputs, 43);
        }
    }
}

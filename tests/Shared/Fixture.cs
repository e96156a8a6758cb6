
namespace Prelu.Tests.Shared;

/// <summary>PyTorch's answers, written by tests/reference/make_fixture.py and copied next to the tests.</summary>
public static class Fixture
{
    private static readonly Lazy<IReadOnlyDictionary<string, NamedTensor>> Tensors = new(() =>
        SafeTensors.Read(Path.Combine(AppContext.BaseDirectory, "reference", "fixture.safetensors")));

    public static float[] Get(string name) =>
        Tensors.Value.TryGetValue(name, out var tensor) ? tensor.Values : throw new KeyNotFoundException($"the fixture has no tensor '{name}'");

    public static IReadOnlyList<int> Shape(string name) => Tensors.Value[name].Shape;
}

/// <summary>Comparisons with a tolerance relative to the reference's largest magnitude.</summary>
public static class Close
{
    /// <summary>max |actual - expected| &lt;= tolerance * max(|expected|, tiny): robust to elements near zero.</summary>
    public static void Assert(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Xunit.Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        double scale = 1e-30, worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.Length; i++)
            scale = Math.Max(scale, Math.Abs(expected[i]));
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(actual[i]) || error > worst)
            {
                worst = double.IsNaN(actual[i]) ? double.PositiveInfinity : error;
                worstAt = i;
            }
        }
        double relative = worst / scale;
        if (relative > tolerance)
            Xunit.Assert.Fail($"{what}: relative error {relative:E2} > {tolerance:E0} at element {worstAt} (got {actual[worstAt]}, expected {expected[worstAt]})");
    }

    public const double Forward = 1e-5;
    public const double Gradient = 1e-4;

    /// <summary>
    /// A forward by Winograd's F(4x4, 3x3) (the C library's AVX-512 build, native/src/kernels/winograd4.h): its transforms'
    /// constants (5 and 4 in, sixths and twenty-fourths in the kernel's, 8 out) round to 2-4e-6 of the largest output on
    /// random maps and up to 1.1e-5 on the Winograd agreement suite's random shapes, against F(2x2)'s 3e-7.
    /// </summary>
    public const double Winograd4Forward = 3e-5;
}

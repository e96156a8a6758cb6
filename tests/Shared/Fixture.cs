
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
}

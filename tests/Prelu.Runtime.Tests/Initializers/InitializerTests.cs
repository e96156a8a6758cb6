using Prelu.Initializers;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Initializers;

public sealed class InitializerTests
{
    private static float[] Draw(Initializer initializer, int[] shape, ulong seed = 1)
    {
        var values = new float[shape.Aggregate(1, (a, b) => a * b)];
        initializer.Fill(values, shape, new SeededRandom(seed));
        return values;
    }

    [Theory]
    [InlineData(new[] { 3, 3, 1, 32 }, 9.0, 288.0)]
    [InlineData(new[] { 3, 3, 32, 64 }, 288.0, 576.0)]
    [InlineData(new[] { 1600, 256 }, 1600.0, 256.0)]
    [InlineData(new[] { 10 }, 10.0, 10.0)]
    public void Fans_are_computed_as_keras_computes_them(int[] shape, double fanIn, double fanOut)
    {
        Assert.Equal((fanIn, fanOut), Initializer.Fans(shape));
    }

    [Theory]
    [InlineData("glorot_uniform")]
    [InlineData("glorot_normal")]
    [InlineData("he_uniform")]
    [InlineData("he_normal")]
    [InlineData("lecun_uniform")]
    [InlineData("lecun_normal")]
    [InlineData("random_uniform")]
    [InlineData("random_normal")]
    [InlineData("truncated_normal")]
    public void A_seed_gives_the_same_weights_every_time_and_another_seed_others(string name)
    {
        var initializer = ByName(name);
        int[] shape = [3, 3, 32, 64];

        Assert.Equal(Draw(initializer, shape, 7), Draw(initializer, shape, 7));
        Assert.NotEqual(Draw(initializer, shape, 7), Draw(initializer, shape, 8));
    }

    [Theory]
    [InlineData("glorot_uniform", 1.0, "avg", true)]
    [InlineData("he_uniform", 2.0, "in", true)]
    [InlineData("lecun_uniform", 1.0, "in", true)]
    [InlineData("glorot_normal", 1.0, "avg", false)]
    [InlineData("he_normal", 2.0, "in", false)]
    [InlineData("lecun_normal", 1.0, "in", false)]
    public void Variance_scaling_has_kerass_bounds_and_variance(string name, double scale, string mode, bool uniform)
    {
        int[] shape = [3, 3, 32, 64];
        double n = mode == "avg" ? (288 + 576) / 2.0 : 288;
        double variance = scale / n;
        var values = Draw(ByName(name), shape);

        double bound = uniform ? Math.Sqrt(3 * variance) : 2 * Math.Sqrt(variance) / 0.87962566103423978;
        Assert.All(values, v => Assert.InRange(Math.Abs(v), 0, bound * (1 + 1e-6)));
        double mean = values.Average(v => (double)v);
        double measured = values.Average(v => (v - mean) * (v - mean));
        Assert.InRange(Math.Abs(mean), 0, 0.05 * Math.Sqrt(variance));
        Assert.InRange(measured / variance, 0.95, 1.05);
    }

    [Fact]
    public void Constants()
    {
        Assert.All(Draw(new Zeros(), [4, 5]), v => Assert.Equal(0f, v));
        Assert.All(Draw(new Ones(), [4, 5]), v => Assert.Equal(1f, v));
        Assert.All(Draw(new Constant(0.25f), [26, 26, 32]), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void Random_uniform_and_normal_have_kerass_defaults()
    {
        var uniform = Draw(new RandomUniform(), [100_000]);
        Assert.All(uniform, v => Assert.InRange(v, -0.05f, 0.05f));
        var normal = Draw(new RandomNormal(), [100_000]);
        Assert.InRange(Math.Sqrt(normal.Average(v => (double)v * v)), 0.049, 0.051);
        var truncated = Draw(new TruncatedNormal(), [100_000]);
        Assert.All(truncated, v => Assert.InRange(v, -0.1f, 0.1f));
    }

    // The initializers by their Keras names, as the generator's code builds them (with Keras's default arguments).
    private static Initializer ByName(string name) => name switch
    {
        "glorot_uniform" => VarianceScaling.GlorotUniform,
        "glorot_normal" => VarianceScaling.GlorotNormal,
        "he_uniform" => VarianceScaling.HeUniform,
        "he_normal" => VarianceScaling.HeNormal,
        "lecun_uniform" => VarianceScaling.LecunUniform,
        "lecun_normal" => VarianceScaling.LecunNormal,
        "random_uniform" => new RandomUniform(),
        "random_normal" => new RandomNormal(),
        "truncated_normal" => new TruncatedNormal(),
        _ => throw new ArgumentException($"no initializer {name}", nameof(name)),
    };

    [Fact]
    public void A_shape_that_does_not_match_the_values_is_refused()
    {
        Refused.Assert<ArgumentException>(() => new Zeros().Fill(new float[5], [2, 3], new SeededRandom(1)), "values",
            "the tensor holds 5 values, shape (2, 3) needs 6");
    }

    [Fact]
    public void Named_streams_are_independent_of_the_order_they_are_made_in()
    {
        var a = SeededRandom.ForStream(5, "conv1.kernel").NextUInt64();
        _ = SeededRandom.ForStream(5, "dense1.kernel").NextUInt64();
        Assert.Equal(a, SeededRandom.ForStream(5, "conv1.kernel").NextUInt64());
        Assert.NotEqual(a, SeededRandom.ForStream(5, "conv2.kernel").NextUInt64());
    }

    [Fact]
    public void Shuffle_is_a_permutation()
    {
        var values = Enumerable.Range(0, 1000).ToArray();
        new SeededRandom(3).Shuffle(values);
        Assert.Equal(Enumerable.Range(0, 1000), values.Order());
        Assert.NotEqual(Enumerable.Range(0, 1000), values);
    }
}

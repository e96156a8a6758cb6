using Prelu.Mnist.Reporting;

namespace Prelu.Mnist.Tests;

/// <summary>
/// The statistics of a multi-seed study against values worked out by hand (t quantiles from the printed table:
/// t(0.975) is 12.7062 with 1 degree of freedom, 4.3027 with 2, 2.7764 with 4), and --seeds' parsing.
/// </summary>
public sealed class SeedStatisticsTests
{
    [Fact]
    public void A_spread_is_the_mean_the_sample_standard_deviation_and_the_extremes()
    {
        var spread = Spread.Of([1.0, 2.0, 3.0, 4.0]);

        Assert.Equal(4, spread.Count);
        Assert.Equal(2.5, spread.Mean, 12);
        Assert.Equal(Math.Sqrt(5.0 / 3.0), spread.StandardDeviation, 12); // (1.5² + 0.5² + 0.5² + 1.5²) / (4 - 1)
        Assert.Equal((1.0, 4.0), (spread.Min, spread.Max));
        Assert.Equal(0, Spread.Of([0.9931]).StandardDeviation);
        Assert.Equal(("+0.12", "-0.03", "0.00"), (Numbers.Signed(0.1234, 2), Numbers.Signed(-0.0349, 2), Numbers.Signed(-0.004, 2)));
    }

    [Fact]
    public void Two_seeds_give_the_mean_difference_and_a_wide_interval_from_t_with_one_degree_of_freedom()
    {
        var d = PairedDifference.Of("prelu", "PReLU", "relu", [(1, 0.994, 0.993), (2, 0.995, 0.992)]);

        Assert.Equal([1UL, 2UL], d.Seeds);
        Assert.Equal(0.001, d.Differences[0], 12);
        Assert.Equal(0.003, d.Differences[1], 12);
        Assert.Equal(0.002, d.Mean, 12);
        Assert.Equal(Math.Sqrt(2) * 0.001, d.StandardDeviation, 12);
        // 0.002 ± 12.7062 · 0.0014142 / √2 = 0.002 ± 0.0127062
        Assert.Equal(0.002 - 0.0127062, d.Low!.Value, 6);
        Assert.Equal(0.002 + 0.0127062, d.High!.Value, 6);
        Assert.False(d.ExcludesZero);
    }

    [Fact]
    public void Five_seeds_that_all_lose_give_an_interval_below_zero_and_the_sentence_says_so()
    {
        double[] baseline = [0.9930, 0.9935, 0.9925, 0.9932, 0.9938];
        double[] differences = [-0.0010, -0.0020, -0.0015, -0.0012, -0.0018];
        var d = PairedDifference.Of("prelu", "PReLU", "relu",
            baseline.Select((b, i) => ((ulong)(i + 1), b + differences[i], b)).ToList());

        Assert.Equal(-0.0015, d.Mean, 12);
        Assert.Equal(Math.Sqrt(6.8e-7 / 4), d.StandardDeviation, 12); // deviations ±0.0005, 0, ±0.0003
        // -0.0015 ± 2.7764 · 0.00041231 / √5 = -0.0015 ± 0.00051195
        Assert.Equal(-0.00201195, d.Low!.Value, 6);
        Assert.Equal(-0.00098805, d.High!.Value, 6);
        Assert.True(d.ExcludesZero);

        string sentence = SeedComparison.Conclude("ReLU", [d]);
        Assert.Equal("PReLU is less accurate than ReLU: -0.15 percentage points (95% CI -0.20 to -0.10).", sentence);
    }

    [Fact]
    public void Intervals_that_all_contain_zero_say_no_difference_is_detectable_at_that_sample_size()
    {
        var d = PairedDifference.Of("prelu", "PReLU", "relu", [(1, 0.9927, 0.9935), (2, 0.9933, 0.9929), (3, 0.9931, 0.9930)]);
        var other = PairedDifference.Of("prelu-0.25", "PReLU (0.25)", "relu", [(1, 0.9930, 0.9935), (2, 0.9934, 0.9929), (3, 0.9929, 0.9930)]);

        Assert.Equal("No difference in test accuracy from ReLU is detectable at this sample size (3 seeds): " +
            "every 95% confidence interval of the paired differences contains zero.", SeedComparison.Conclude("ReLU", [d, other]));
        // The loss, seed by seed higher by 0.002-0.004: its interval lies above zero, and the second sentence says so.
        var loss = PairedDifference.Of("prelu", "PReLU", "relu", [(1, 0.027, 0.025), (2, 0.030, 0.026), (3, 0.028, 0.025)]);
        Assert.EndsWith("PReLU has a higher test loss than ReLU: +0.0030 (95% CI +0.0005 to +0.0055).",
            SeedComparison.Conclude("ReLU", [d], [loss]), StringComparison.Ordinal);
        Assert.StartsWith("With one seed per configuration no confidence interval",
            SeedComparison.Conclude("ReLU", [PairedDifference.Of("prelu", "PReLU", "relu", [(1, 0.99, 0.98)])]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_comparison_pairs_runs_by_seed_against_relu_and_averages_the_alphas_over_seeds()
    {
        RunResult Run(string name, ulong seed, double accuracy, double loss, double seconds, double alpha) =>
            new(name, seed, name.ToUpperInvariant(), "Model", 1, Array.Empty<EpochMetrics>(), loss, accuracy, seconds, 1000,
                name == "relu" ? [] : [new AlphaSummary("conv1", 4, alpha, alpha - 0.1, alpha + 0.1)], $"{name}-seed{seed}.safetensors");
        var runs = new[]
        {
            Run("relu", 1, 0.990, 0.030, 10, 0), Run("prelu", 1, 0.992, 0.028, 11, 0.2),
            Run("relu", 2, 0.991, 0.031, 12, 0), Run("prelu", 2, 0.990, 0.033, 13, 0.4),
        };

        var comparison = SeedComparison.Of(runs);

        Assert.Equal("relu", comparison.Baseline);
        Assert.Equal(["relu", "prelu"], comparison.Configurations.Select(c => c.Run));
        var prelu = comparison.Configurations[1];
        Assert.Equal(0.991, prelu.TestAccuracy.Mean, 12);
        Assert.Equal(12, prelu.SecondsPerEpoch.Mean, 12);
        Assert.Equal(0.3, prelu.Alphas.Single().Mean, 12);
        Assert.Equal(0.1, prelu.Alphas.Single().Min, 12);
        Assert.Equal(0.5, prelu.Alphas.Single().Max, 12);
        var accuracy = comparison.Accuracy.Single();
        Assert.Equal([0.002, -0.001], accuracy.Differences.Select(x => Math.Round(x, 12)));
        Assert.Equal([-0.002, 0.002], comparison.Loss.Single().Differences.Select(x => Math.Round(x, 12)));
        Assert.Equal(0, comparison.Loss.Single().Mean, 12);
    }

    [Theory]
    [InlineData(null, 7UL, new ulong[] { 7 })]
    [InlineData("5", 1UL, new ulong[] { 1, 2, 3, 4, 5 })]
    [InlineData("3", 10UL, new ulong[] { 10, 11, 12 })]
    [InlineData("4,2,9", 1UL, new ulong[] { 4, 2, 9 })]
    public void Seeds_are_a_count_from_the_seed_or_a_list(string? value, ulong first, ulong[] expected)
    {
        Assert.Equal(expected, SeedList.Parse(value, first, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("0", "neither a count from 1 to 1000 nor a comma-separated list")]
    [InlineData("many", "neither a count from 1 to 1000 nor a comma-separated list")]
    [InlineData("1,2,1", "seed 1 appears twice in '1,2,1'")]
    [InlineData("1,-2", "'-2' in '1,-2' is not a seed")]
    public void A_bad_seed_list_says_what_was_expected(string value, string message)
    {
        Assert.Empty(SeedList.Parse(value, 1, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }
}

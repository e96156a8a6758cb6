using System.Globalization;
using MathNet.Numerics.Distributions;

namespace Prelu.Mnist.Reporting;

/// <summary>One quantity over the seeds of a configuration: mean, sample standard deviation (n - 1), min, max.</summary>
public sealed record Spread(int Count, double Mean, double StandardDeviation, double Min, double Max)
{
    public static Spread Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            throw new ArgumentException("a spread needs at least one value", nameof(values));
        double mean = values.Average();
        double variance = values.Count > 1 ? values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1) : 0;
        return new Spread(values.Count, mean, Math.Sqrt(variance), values.Min(), values.Max());
    }
}

/// <summary>
/// A configuration against the baseline, seed by seed: each seed trains both from the same seed (weights, dropout
/// masks and data order), so their difference removes what that seed did to both. Mean of the differences and its
/// 95% confidence interval from Student's t with n - 1 degrees of freedom (none with one seed).
/// </summary>
public sealed record PairedDifference(
    string Run,
    string Label,
    string Baseline,
    IReadOnlyList<ulong> Seeds,
    IReadOnlyList<double> Differences,
    double Mean,
    double StandardDeviation,
    double? Low,
    double? High)
{
    /// <summary>Run minus baseline for every seed both have; the interval is mean ± t(0.975, n - 1) · sd / √n.</summary>
    public static PairedDifference Of(string run, string label, string baseline, IReadOnlyList<(ulong Seed, double Run, double Baseline)> pairs)
    {
        var differences = pairs.Select(p => p.Run - p.Baseline).ToList();
        var spread = Spread.Of(differences);
        double? low = null, high = null;
        if (differences.Count > 1)
        {
            double halfWidth = StudentT.InvCDF(0, 1, differences.Count - 1, 0.975) * spread.StandardDeviation / Math.Sqrt(differences.Count);
            (low, high) = (spread.Mean - halfWidth, spread.Mean + halfWidth);
        }
        return new PairedDifference(run, label, baseline, pairs.Select(p => p.Seed).ToList(), differences, spread.Mean, spread.StandardDeviation, low, high);
    }

    /// <summary>Whether the interval lies wholly on one side of zero.</summary>
    public bool ExcludesZero => Low > 0 || High < 0;
}

/// <summary>A configuration over its seeds: test accuracy, test loss, time per epoch, and its alphas' mean over seeds.</summary>
public sealed record ConfigurationSummary(
    string Run,
    string Label,
    Spread TestAccuracy,
    Spread TestLoss,
    Spread SecondsPerEpoch,
    IReadOnlyList<AlphaSummary> Alphas);

/// <summary>What several seeds say: each configuration's spread, and each against the baseline (ReLU where it ran).</summary>
public sealed record SeedComparison(
    string Baseline,
    IReadOnlyList<ConfigurationSummary> Configurations,
    IReadOnlyList<PairedDifference> Accuracy,
    IReadOnlyList<PairedDifference> Loss,
    string Conclusion)
{
    public static SeedComparison Of(IReadOnlyList<RunResult> runs)
    {
        var names = runs.Select(r => r.Name).Distinct().ToList();
        string baseline = names.Contains("relu") ? "relu" : names[0];
        var configurations = names.Select(name =>
        {
            var mine = runs.Where(r => r.Name == name).ToList();
            return new ConfigurationSummary(name, mine[0].Label, Spread.Of(mine.Select(r => r.TestAccuracy).ToList()),
                Spread.Of(mine.Select(r => r.TestLoss).ToList()), Spread.Of(mine.Select(r => r.SecondsPerEpoch).ToList()), MeanAlphas(mine));
        }).ToList();
        var accuracy = new List<PairedDifference>();
        var loss = new List<PairedDifference>();
        foreach (var name in names.Where(n => n != baseline))
        {
            var pairs = runs.Where(r => r.Name == name)
                .Join(runs.Where(r => r.Name == baseline), r => r.Seed, b => b.Seed, (r, b) => (r, b))
                .OrderBy(p => p.r.Seed).ToList();
            if (pairs.Count == 0)
                continue;
            string label = pairs[0].r.Label;
            accuracy.Add(PairedDifference.Of(name, label, baseline, pairs.Select(p => (p.r.Seed, p.r.TestAccuracy, p.b.TestAccuracy)).ToList()));
            loss.Add(PairedDifference.Of(name, label, baseline, pairs.Select(p => (p.r.Seed, p.r.TestLoss, p.b.TestLoss)).ToList()));
        }
        string baselineLabel = configurations.First(c => c.Run == baseline).Label;
        return new SeedComparison(baseline, configurations, accuracy, loss, Conclude(baselineLabel, accuracy, loss));
    }

    /// <summary>The sentences the intervals support, whichever way they fall: test accuracy, then test loss.</summary>
    public static string Conclude(string baselineLabel, IReadOnlyList<PairedDifference> accuracy, IReadOnlyList<PairedDifference>? loss = null)
    {
        if (accuracy.Count == 0)
            return $"Only {baselineLabel} ran: there is nothing to compare it with.";
        int seeds = accuracy.Min(d => d.Differences.Count);
        if (seeds < 2)
            return "With one seed per configuration no confidence interval can be computed: run several (--seeds 5).";
        string sentence = Sentence("test accuracy", baselineLabel, seeds, accuracy,
            d => d.Mean > 0 ? "is more accurate than" : "is less accurate than", scale: 100, decimals: 2, unit: " percentage points");
        if (loss is { Count: > 0 })
            sentence += " " + Sentence("test loss", baselineLabel, seeds, loss,
                d => d.Mean > 0 ? "has a higher test loss than" : "has a lower test loss than", scale: 1, decimals: 4, unit: "");
        return sentence;
    }

    // One sentence for one quantity: each difference whose interval excludes zero, or that none does.
    private static string Sentence(string quantity, string baselineLabel, int seeds, IReadOnlyList<PairedDifference> differences,
        Func<PairedDifference, string> predicate, double scale, int decimals, string unit)
    {
        string Number(double value) => Numbers.Signed(value * scale, decimals);
        var clear = differences.Where(d => d.ExcludesZero).Select(d =>
            $"{d.Label} {predicate(d)} {baselineLabel}: {Number(d.Mean)}{unit} (95% CI {Number(d.Low!.Value)} to {Number(d.High!.Value)})").ToList();
        if (clear.Count == 0)
            return $"No difference in {quantity} from {baselineLabel} is detectable at this sample size ({seeds} seeds): " +
                "every 95% confidence interval of the paired differences contains zero.";
        string rest = clear.Count == differences.Count ? "" :
            $"; for the others no difference in {quantity} from {baselineLabel} is detectable at this sample size ({seeds} seeds)";
        return string.Join("; ", clear) + rest + ".";
    }

    // Per layer: the mean of each seed's mean alpha, and the min and max over all seeds.
    private static List<AlphaSummary> MeanAlphas(List<RunResult> runs) =>
        runs[0].Alphas.Select((first, i) => new AlphaSummary(first.Layer, first.Count,
            runs.Average(r => r.Alphas[i].Mean), runs.Min(r => r.Alphas[i].Min), runs.Max(r => r.Alphas[i].Max))).ToList();
}

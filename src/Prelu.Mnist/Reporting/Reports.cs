using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Prelu.Mnist.Reporting;

/// <summary>Writes what a study leaves behind: results.json, results.md and the plots.</summary>
public static class Reports
{
    public static void WriteJson(string path, StudyResults results)
    {
        var json = JsonSerializer.Serialize(results, StudyJsonContext.Default.StudyResults);
        WriteAtomically(path, json);
    }

    /// <summary>
    /// A markdown report laid out like the study's own table, with timing and the learned alphas; with several
    /// seeds, also each configuration's spread over them, the paired differences from the baseline with their
    /// 95% intervals, and the sentence they support.
    /// </summary>
    public static string Markdown(StudyResults results)
    {
        var md = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        bool seeded = results.Seeds.Count > 1;
        md.AppendLine("# Results").AppendLine();
        md.AppendLine(c, $"Command: `{results.Command}`").AppendLine();
        md.AppendLine(c, $"Backend: {results.Backend}. Machine: {results.Machine}. {results.Epochs} epochs, batch {results.BatchSize}, " +
            $"validation split {results.ValidationSplit}, {(seeded ? "seeds " : "seed ")}{string.Join(", ", results.Seeds)}. " +
            $"Training and evaluation took {(int)Math.Round(results.Seconds) / 60} min {(int)Math.Round(results.Seconds) % 60} s" +
            $"{(results.Resumed ? " in this session (resumed: earlier sessions not counted)" : "")}.").AppendLine();
        md.AppendLine(seeded ? "| run | seed | parameters | test loss | test accuracy | seconds / epoch | images / s |"
            : "| run | parameters | test loss | test accuracy | seconds / epoch | images / s |");
        md.AppendLine(seeded ? "|---|---:|---:|---:|---:|---:|---:|" : "|---|---:|---:|---:|---:|---:|");
        foreach (var run in results.Runs)
        {
            string seed = seeded ? $" {run.Seed} |" : "";
            md.AppendLine(c, $"| {run.Label} |{seed} {run.Parameters:N0} | {run.TestLoss:F4} | {run.TestAccuracy:F4} | {run.SecondsPerEpoch:F1} | {run.ImagesPerSecond:N0} |");
        }
        md.AppendLine();
        if (results.Comparison is { } comparison)
            AppendSeedComparison(md, comparison);
        var alphas = results.Comparison is { } seeds
            ? seeds.Configurations.Where(s => s.Alphas.Count > 0).Select(s => (s.Label, s.Alphas)).ToList()
            : results.Runs.Where(r => r.Alphas.Count > 0).Select(r => (r.Label, r.Alphas)).ToList();
        if (alphas.Count > 0)
        {
            md.AppendLine(seeded
                ? "Learned PReLU coefficients per layer, over the seeds (mean of each seed's mean; min and max of all), as in the paper's table:"
                : "Learned PReLU coefficients per layer (mean, min, max), as in the paper's table:").AppendLine();
            md.AppendLine("| run | layer | alphas | mean | min | max |");
            md.AppendLine("|---|---|---:|---:|---:|---:|");
            foreach (var (label, layers) in alphas)
            {
                foreach (var a in layers)
                    md.AppendLine(c, $"| {label} | {a.Layer} | {a.Count:N0} | {a.Mean:F3} | {a.Min:F3} | {a.Max:F3} |");
            }
            md.AppendLine();
        }
        if (seeded)
        {
            md.AppendLine("Per-epoch histories of every run are in `results.json`. Plots: `validation-accuracy.png` (mean over seeds, " +
                "band from the lowest to the highest), `test-accuracy.png` (each seed), and one `<run>-seed<seed>.png` per run.");
            return md.ToString();
        }
        md.AppendLine("Per epoch (training loss / accuracy, validation loss / accuracy):").AppendLine();
        foreach (var run in results.Runs)
        {
            var epochs = string.Join("; ", run.History.Select(e =>
                string.Format(c, "{0}: {1:F4}/{2:F4}, {3:F4}/{4:F4}", e.Epoch, e.Loss, e.Accuracy, e.ValidationLoss, e.ValidationAccuracy)));
            md.AppendLine(c, $"- {run.Label}: {epochs}");
        }
        md.AppendLine().AppendLine("Plots: `all-runs.png` and one `<run>.png` per run (accuracy above, loss below).");
        return md.ToString();
    }

    private static void AppendSeedComparison(StringBuilder md, SeedComparison comparison)
    {
        var c = CultureInfo.InvariantCulture;
        var baseline = comparison.Configurations.First(s => s.Run == comparison.Baseline);
        md.AppendLine(c, $"Over the seeds (mean ± sample standard deviation, min to max; time per epoch against {baseline.Label}'s):").AppendLine();
        md.AppendLine("| run | seeds | test accuracy | min - max | test loss | min - max | seconds / epoch | time vs " + baseline.Label + " |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in comparison.Configurations)
        {
            md.AppendLine(c, $"| {s.Label} | {s.TestAccuracy.Count} | {s.TestAccuracy.Mean:F4} ± {s.TestAccuracy.StandardDeviation:F4} | " +
                $"{s.TestAccuracy.Min:F4} - {s.TestAccuracy.Max:F4} | {s.TestLoss.Mean:F4} ± {s.TestLoss.StandardDeviation:F4} | " +
                $"{s.TestLoss.Min:F4} - {s.TestLoss.Max:F4} | {s.SecondsPerEpoch.Mean:F2} ± {s.SecondsPerEpoch.StandardDeviation:F2} | " +
                $"{Numbers.Signed((s.SecondsPerEpoch.Mean / baseline.SecondsPerEpoch.Mean - 1) * 100, 1)}% |");
        }
        md.AppendLine();
        md.Append("Against ").Append(baseline.Label).AppendLine(", seed by seed (the same seed gives both the same initial-weight seed, dropout " +
            "masks, data order and, where the run augments its images, their moves), in percentage points of test accuracy and in test " +
            "loss; 95% confidence intervals from Student's t on the paired differences:").AppendLine();
        md.AppendLine("| run | accuracy difference per seed (pp) | mean (pp) | 95% CI (pp) | loss difference per seed | mean | 95% CI |");
        md.AppendLine("|---|---|---:|---:|---|---:|---:|");
        foreach (var (accuracy, loss) in comparison.Accuracy.Zip(comparison.Loss))
        {
            md.AppendLine(c, $"| {accuracy.Label} | {PerSeed(accuracy, 100, 2)} | {Numbers.Signed(accuracy.Mean * 100, 2)} | {Interval(accuracy, 100, 2)} | " +
                $"{PerSeed(loss, 1, 4)} | {Numbers.Signed(loss.Mean, 4)} | {Interval(loss, 1, 4)} |");
        }
        md.AppendLine();
        md.Append("**").Append(comparison.Conclusion).AppendLine("**").AppendLine();
    }

    private static string PerSeed(PairedDifference d, double scale, int decimals) =>
        string.Join(", ", d.Seeds.Zip(d.Differences).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.First}: {Numbers.Signed(p.Second * scale, decimals)}")));

    private static string Interval(PairedDifference d, double scale, int decimals) =>
        d.Low is { } low && d.High is { } high ? $"{Numbers.Signed(low * scale, decimals)} to {Numbers.Signed(high * scale, decimals)}" : "(one seed)";

    public static void WriteMarkdown(string path, StudyResults results) => WriteAtomically(path, Markdown(results));

    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}

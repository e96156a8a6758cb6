using System.Globalization;
using System.Text;
using System.Text.Json;
using Prelu.Checkpoints;

namespace Prelu.Mnist.Reporting;

/// <summary>Writes what a study leaves behind: results.json, results.md and the plots.</summary>
public static class Reports
{
    public static void WriteJson(string path, StudyResults results)
    {
        var json = JsonSerializer.Serialize(results, StudyJsonContext.Default.StudyResults);
        WriteAtomically(path, json);
    }

    /// <summary>A markdown report laid out like the study's own table, with timing and the learned alphas.</summary>
    public static string Markdown(StudyResults results)
    {
        var md = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        md.AppendLine("# Results").AppendLine();
        md.AppendLine(c, $"Command: `{results.Command}`").AppendLine();
        md.AppendLine(c, $"Backend: {results.Backend}. Machine: {results.Machine}. {results.Epochs} epochs, batch {results.BatchSize}, " +
            $"validation split {results.ValidationSplit}, seed {results.Seed}.").AppendLine();
        md.AppendLine("| run | parameters | test loss | test accuracy | seconds / epoch | images / s |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var run in results.Runs)
        {
            md.AppendLine(c, $"| {run.Label} | {run.Parameters:N0} | {run.TestLoss:F4} | {run.TestAccuracy:F4} | {run.SecondsPerEpoch:F1} | {run.ImagesPerSecond:N0} |");
        }
        md.AppendLine();
        var withAlphas = results.Runs.Where(r => r.Alphas.Count > 0).ToList();
        if (withAlphas.Count > 0)
        {
            md.AppendLine("Learned PReLU coefficients per layer (mean, min, max), as in the paper's table:").AppendLine();
            md.AppendLine("| run | layer | alphas | mean | min | max |");
            md.AppendLine("|---|---|---:|---:|---:|---:|");
            foreach (var run in withAlphas)
            {
                foreach (var a in run.Alphas)
                    md.AppendLine(c, $"| {run.Label} | {a.Layer} | {a.Count:N0} | {a.Mean:F3} | {a.Min:F3} | {a.Max:F3} |");
            }
            md.AppendLine();
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

    public static void WriteMarkdown(string path, StudyResults results) => WriteAtomically(path, Markdown(results));

    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}

using ScottPlot;

namespace Prelu.Mnist.Reporting;

/// <summary>
/// Training curves as PNG: accuracy above, loss below; one figure per run and one with every run. With several
/// seeds: each configuration's validation accuracy as its mean over seeds inside a band from the lowest to the
/// highest seed, and each seed's test accuracy as a point per configuration.
/// </summary>
public static class Plots
{
    public static void SaveRun(string path, string title, IReadOnlyList<EpochMetrics> history) =>
        Save(path, title, [(title, history)]);

    public static void SaveAll(string path, IReadOnlyList<(string Label, IReadOnlyList<EpochMetrics> History)> runs) =>
        Save(path, "All runs", runs);

    private static void Save(string path, string title, IReadOnlyList<(string Label, IReadOnlyList<EpochMetrics> History)> runs)
    {
        var accuracy = new Plot();
        var loss = new Plot();
        bool single = runs.Count == 1;
        var palette = new ScottPlot.Palettes.Category10();
        for (int r = 0; r < runs.Count; r++)
        {
            var (label, history) = runs[r];
            double[] epochs = history.Select(e => (double)e.Epoch).ToArray();
            var color = palette.GetColor(r);
            AddCurve(accuracy, epochs, history.Select(e => e.Accuracy), single ? "training" : $"{label} (training)", color, dashed: false);
            AddCurve(loss, epochs, history.Select(e => e.Loss), single ? "training" : $"{label} (training)", color, dashed: false);
            if (history.All(e => e.ValidationAccuracy is not null))
            {
                var validationColor = single ? palette.GetColor(1) : color;
                AddCurve(accuracy, epochs, history.Select(e => e.ValidationAccuracy!.Value), single ? "validation" : $"{label} (validation)", validationColor, dashed: true);
                AddCurve(loss, epochs, history.Select(e => e.ValidationLoss!.Value), single ? "validation" : $"{label} (validation)", validationColor, dashed: true);
            }
        }
        accuracy.Title($"{title}: accuracy");
        accuracy.XLabel("epoch");
        accuracy.YLabel("accuracy");
        accuracy.ShowLegend(Alignment.LowerRight);
        loss.Title($"{title}: loss");
        loss.XLabel("epoch");
        loss.YLabel("categorical cross-entropy");
        loss.ShowLegend(Alignment.UpperRight);

        var figure = new Multiplot();
        figure.Reset(accuracy); // a new Multiplot holds one empty plot: replace it
        figure.AddPlot(loss);
        figure.SavePng(path, 900, 1000);
    }

    /// <summary>Validation accuracy per epoch: the mean over seeds as a line, min to max as a band, per configuration.</summary>
    public static void SaveValidationBands(string path, IReadOnlyList<RunResult> runs)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var configurations = runs.GroupBy(r => r.Name).ToList();
        for (int c = 0; c < configurations.Count; c++)
        {
            var seeds = configurations[c].ToList();
            int epochs = seeds.Min(r => r.History.Count);
            double[] x = Enumerable.Range(1, epochs).Select(e => (double)e).ToArray();
            double[][] perEpoch = x.Select((_, e) => seeds.Select(r => r.History[e].ValidationAccuracy ?? double.NaN).ToArray()).ToArray();
            var color = palette.GetColor(c);
            var band = plot.Add.FillY(x, perEpoch.Select(v => v.Min()).ToArray(), perEpoch.Select(v => v.Max()).ToArray());
            band.FillColor = color.WithAlpha(0.2);
            band.LineColor = color.WithAlpha(0.4);
            var mean = plot.Add.Scatter(x, perEpoch.Select(v => v.Average()).ToArray(), color);
            mean.LegendText = $"{seeds[0].Label} (mean of {seeds.Count} seeds; band: min to max)";
            mean.LineWidth = 2;
            mean.MarkerSize = 4;
        }
        plot.Title("Validation accuracy by epoch");
        plot.XLabel("epoch");
        plot.YLabel("validation accuracy");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 600);
    }

    /// <summary>Final test accuracy of every seed, one column of points per configuration, with its mean as a bar.</summary>
    public static void SaveTestAccuracies(string path, IReadOnlyList<RunResult> runs)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var configurations = runs.GroupBy(r => r.Name).ToList();
        for (int c = 0; c < configurations.Count; c++)
        {
            var seeds = configurations[c].OrderBy(r => r.Seed).ToList();
            // Seeds side by side within the column, so that equal accuracies do not hide each other.
            double[] x = seeds.Select((_, i) => c + (seeds.Count == 1 ? 0 : -0.2 + 0.4 * i / (seeds.Count - 1))).ToArray();
            var points = plot.Add.ScatterPoints(x, seeds.Select(r => r.TestAccuracy).ToArray(), palette.GetColor(c));
            points.MarkerSize = 9;
            double mean = seeds.Average(r => r.TestAccuracy);
            var bar = plot.Add.Line(c - 0.3, mean, c + 0.3, mean);
            bar.Color = palette.GetColor(c);
            bar.LineWidth = 2;
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, configurations.Count).Select(i => (double)i).ToArray(),
            configurations.Select(g => g.First().Label).ToArray());
        plot.Axes.SetLimitsX(-0.6, configurations.Count - 0.4);
        plot.Title($"Test accuracy of each seed (bar: mean)");
        plot.YLabel("test accuracy");
        plot.SavePng(path, 900, 600);
    }

    private static void AddCurve(Plot plot, double[] epochs, IEnumerable<double> values, string label, Color color, bool dashed)
    {
        var line = plot.Add.Scatter(epochs, values.ToArray(), color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 5;
        if (dashed)
            line.LinePattern = LinePattern.Dashed;
    }
}

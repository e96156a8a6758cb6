using ScottPlot;
using Prelu.Training;

namespace Prelu.Mnist.Reporting;

/// <summary>Training curves as PNG: accuracy above, loss below; one figure per run and one with every run.</summary>
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

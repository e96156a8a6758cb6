using Prelu.Kernels;

namespace Prelu;

/// <summary>
/// The metrics <see cref="Trainer"/> reports, by Keras's names, worked out from the sums the loss kernels add
/// (<see cref="MetricSlot"/>): "loss" always; "accuracy" for the cross-entropies (argmax, or a 0.5 threshold per
/// label for binary cross-entropy); "mae", "mse" and "rmse" for the regression losses. Validation's carry "val_".
/// </summary>
public static class MetricNames
{
    /// <summary>"loss".</summary>
    public const string Loss = "loss";
    /// <summary>"accuracy": argmax for the categorical losses, a 0.5 threshold for binary cross-entropy.</summary>
    public const string Accuracy = "accuracy";
    /// <summary>"mae", a regression's.</summary>
    public const string MeanAbsoluteError = "mae";
    /// <summary>"mse", a regression's.</summary>
    public const string MeanSquaredError = "mse";
    /// <summary>"rmse", a regression's.</summary>
    public const string RootMeanSquaredError = "rmse";
    /// <summary>Before the name of a metric on the validation part: "val_loss".</summary>
    public const string ValidationPrefix = "val_";

    private static readonly string[] Classification = [Loss, Accuracy];
    private static readonly string[] Regression = [Loss, MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError];

    /// <summary>What a model trained with <paramref name="loss"/> reports, in order.</summary>
    public static IReadOnlyList<string> For(in LossFunction loss) =>
        loss.Kind is LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy or LossKind.BinaryCrossentropy ? Classification : Regression;

    // Each named metric as the mean over `samples` of the sums. In double: 3 / 10 should read 0.3, not float's 0.30000001.
    internal static void Means(in LossFunction loss, ReadOnlySpan<float> sums, int samples, string prefix, IDictionary<string, double> into)
    {
        foreach (var name in For(loss))
        {
            into[prefix + name] = name switch
            {
                Loss => sums[MetricSlot.LossSum] / (double)samples,
                Accuracy => sums[MetricSlot.Correct] / (double)samples,
                MeanAbsoluteError => sums[MetricSlot.AbsoluteError] / (double)samples,
                MeanSquaredError => sums[MetricSlot.SquaredError] / (double)samples,
                _ => Math.Sqrt(sums[MetricSlot.SquaredError] / (double)samples),
            };
        }
    }
}

/// <summary>Keras's <c>evaluate</c> with <c>return_dict=True</c>: every metric by name; deconstructs into (loss, accuracy).</summary>
public sealed record Evaluation(IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>The loss.</summary>
    public double Loss => Metrics[MetricNames.Loss];

    /// <summary>Keras's accuracy; NaN for a model whose loss has none (a regression's).</summary>
    public double Accuracy => Metrics.TryGetValue(MetricNames.Accuracy, out double value) ? value : double.NaN;

    /// <summary>The loss and the accuracy (NaN for a regression).</summary>
    public void Deconstruct(out double loss, out double accuracy) => (loss, accuracy) = (Loss, Accuracy);
}

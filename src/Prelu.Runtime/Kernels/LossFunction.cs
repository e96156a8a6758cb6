using System;

// Compiled into the generator too (one place for the losses' names), where it is internal and in the generator's own
// namespace, as SpatialAxis.cs is.
#if PRELU_GENERATOR
namespace Prelu.Generators.Shared;
#else
namespace Prelu.Kernels;
#endif

/// <summary>
/// The losses a model trains with, as Keras names them. The numbers are part of the C ABI (prelu.h) and
/// of the OpenCL kernels (common.cl).
/// </summary>
#if PRELU_GENERATOR
internal
#else
public
#endif
enum LossKind
{
    /// <summary>Softmax over the logits, then cross-entropy with one-hot (or soft) targets (batch, outputs).</summary>
    CategoricalCrossentropy = 0,

    /// <summary>Softmax over the logits, then cross-entropy with class indices (batch), held as floats.</summary>
    SparseCategoricalCrossentropy = 1,

    /// <summary>A sigmoid per output, then binary cross-entropy with targets in [0, 1] (batch, outputs): one or several labels.</summary>
    BinaryCrossentropy = 2,

    /// <summary>Keras's "mean_squared_error" ("mse").</summary>
    MeanSquaredError = 3,
    /// <summary>Keras's "mean_absolute_error" ("mae").</summary>
    MeanAbsoluteError = 4,

    /// <summary>Squared error up to <see cref="LossFunction.Delta"/> from the target, linear beyond it.</summary>
    Huber = 5,
}

/// <summary>
/// A loss with its one constant (Huber's delta). Keras's reduction: each sample's loss is the mean over its
/// outputs (the sum over classes for the categorical cross-entropies), and the batch's loss the mean over
/// samples. The cross-entropies take the output layer's logits and compute softmax or sigmoid themselves,
/// in the stable form (log-sum-exp; max(z, 0) - z y + log(1 + exp(-|z|))), as Keras does with <c>from_logits</c>.
/// </summary>
#if PRELU_GENERATOR
internal
#else
public
#endif
readonly record struct LossFunction(LossKind Kind, float Delta = 1f)
{
    /// <summary>The names <see cref="FromKerasName"/> reads, as Keras's <c>compile(loss=...)</c> takes them.</summary>
    public const string KerasNames = "categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy, " +
        "mean_squared_error (or mse), mean_absolute_error (or mae), huber";

    /// <summary>The loss Keras names so (<see cref="KerasNames"/>), with Huber's delta; null for a name it does not know.</summary>
    public static LossFunction? FromKerasName(string name, float delta = 1f) => name switch
    {
        "categorical_crossentropy" => CategoricalCrossentropy,
        "sparse_categorical_crossentropy" => SparseCategoricalCrossentropy,
        "binary_crossentropy" => BinaryCrossentropy,
        "mean_squared_error" or "mse" => MeanSquaredError,
        "mean_absolute_error" or "mae" => MeanAbsoluteError,
        "huber" => Huber(delta),
        _ => null,
    };

    /// <summary>Softmax cross-entropy over one-hot rows.</summary>
    public static LossFunction CategoricalCrossentropy => new(LossKind.CategoricalCrossentropy);
    /// <summary>Softmax cross-entropy over class indices.</summary>
    public static LossFunction SparseCategoricalCrossentropy => new(LossKind.SparseCategoricalCrossentropy);
    /// <summary>Sigmoid cross-entropy over 0/1 labels.</summary>
    public static LossFunction BinaryCrossentropy => new(LossKind.BinaryCrossentropy);
    /// <summary>Mean squared error.</summary>
    public static LossFunction MeanSquaredError => new(LossKind.MeanSquaredError);
    /// <summary>Mean absolute error.</summary>
    public static LossFunction MeanAbsoluteError => new(LossKind.MeanAbsoluteError);

    /// <summary>Huber's loss: squared below <paramref name="delta"/>, linear above.</summary>
    public static LossFunction Huber(float delta = 1f) => new(LossKind.Huber, delta);

    /// <summary>Whether the loss reads logits and predicts through a softmax or sigmoid (else the outputs are the predictions).</summary>
    public bool FromLogits => Kind is LossKind.CategoricalCrossentropy or LossKind.SparseCategoricalCrossentropy or LossKind.BinaryCrossentropy;

    /// <summary>Whether the targets are one class index per sample.</summary>
    public bool SparseTargets => Kind == LossKind.SparseCategoricalCrossentropy;

    /// <summary>Floats of target for a batch: one per sample for sparse targets, else one per output.</summary>
    public int TargetLength(int batch, int outputs) => SparseTargets ? batch : batch * outputs;

    /// <summary>Keras's name of the loss ("mean_squared_error", ...).</summary>
    public string KerasName => Kind switch
    {
        LossKind.CategoricalCrossentropy => "categorical_crossentropy",
        LossKind.SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        LossKind.BinaryCrossentropy => "binary_crossentropy",
        LossKind.MeanSquaredError => "mean_squared_error",
        LossKind.MeanAbsoluteError => "mean_absolute_error",
        LossKind.Huber => "huber",
        _ => $"loss kind {(int)Kind}",
    };

    /// <inheritdoc />
    public override string ToString() => Kind == LossKind.Huber ? $"huber (delta {Delta})" : KerasName;

    internal void Check(string op)
    {
        if (Kind is < LossKind.CategoricalCrossentropy or > LossKind.Huber)
            throw new ArgumentException($"{op}: unknown loss kind {(int)Kind}");
        if (Kind == LossKind.Huber && !(Delta > 0f && Delta <= float.MaxValue))
            throw new ArgumentException($"{op}: Huber's delta must be a positive finite number, not {Delta}");
    }
}

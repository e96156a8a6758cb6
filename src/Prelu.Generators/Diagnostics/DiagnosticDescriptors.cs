using Microsoft.CodeAnalysis;

namespace Prelu.Generators.Diagnostics;

/// <summary>
/// Every diagnostic the generator reports, with its stable ID. A new one takes the next free number and
/// a line in AnalyzerReleases.Unshipped.md; an ID is never reused. Messages name the layer and the numbers.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Prelu.Model";

    public static readonly DiagnosticDescriptor NotPartial = new(
        "PRELU001", "A model class must be partial",
        "Model class '{0}' must be declared partial so that the generated forward and backward code can be added to it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NoInputShape = new(
        "PRELU002", "A model needs an input shape",
        "Class '{0}' declares layers but no [InputShape(...)]: add one with the shape of a sample, such as [InputShape(28, 28, 1)]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadInputShape = new(
        "PRELU003", "Invalid input shape",
        "Input shape ({0}) of '{1}' is not supported: give (height, width, channels) or (features), every size at least 1",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor LayerDoesNotFit = new(
        "PRELU004", "A layer does not fit its input",
        "Layer '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor SharedAxisOutOfRange = new(
        "PRELU005", "PReLU shared axis out of range",
        "Layer '{0}': shared axis {1} is outside 1..{2} for its input of shape (batch, {3})",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OutputCannotFeedCrossEntropy = new(
        "PRELU006", "The output layer cannot feed categorical cross-entropy",
        "Model '{0}': the last layer must be Dense with Activation = \"softmax\" and at least 2 units (or an Activation(\"softmax\") after such a layer without an activation), to feed {2}; it is {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownInitializer = new(
        "PRELU007", "Unknown initializer",
        "Layer '{0}': {1} '{2}' is not an initializer ({3}); known: zeros, ones, constant(value), glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, random_uniform(min, max), random_normal(mean, stddev), truncated_normal(mean, stddev)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateLayerName = new(
        "PRELU008", "Duplicate layer name",
        "Layer name '{0}' is used by layer {1} and again by layer {2}; names must be unique (they name parameters in checkpoints)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownActivation = new(
        "PRELU009", "Unknown activation",
        "Layer '{0}': activation '{1}' is not supported here; use {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownPadding = new(
        "PRELU010", "Unknown padding",
        "Layer '{0}': padding '{1}' is not 'valid' or 'same'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor WrongInputRank = new(
        "PRELU011", "A layer gets an input of the wrong rank",
        "Layer '{0}' ({1}) needs {2}, but gets shape (batch, {3}){4}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidArgument = new(
        "PRELU012", "Invalid layer argument",
        "Layer '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownRegularizerOrConstraint = new(
        "PRELU013", "Unknown regularizer or constraint",
        "Layer '{0}': {1} '{2}' is not valid ({3}); regularizers: l1(x), l2(x), l1_l2(l1, l2); constraints: non_neg, max_norm(max, axis=[...]), min_max_norm(min, max, rate, axis=[...]), unit_norm(axis=[...])",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor SoftmaxNotLast = new(
        "PRELU014", "Softmax is only supported on the output layer",
        "Layer '{0}': softmax is only supported on the last layer, where it is fused with the cross-entropy loss",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NoLayers = new(
        "PRELU015", "A model needs layers",
        "Model '{0}' has an input shape but no layers; add layer attributes such as [Dense(10, Activation = \"softmax\")] after [InputShape]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedClass = new(
        "PRELU016", "Unsupported model class",
        "Model class '{0}' {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TooLarge = new(
        "PRELU017", "A tensor is larger than a buffer can hold",
        "{0}: {1} holds {2} floats, more than the {3} one buffer can address",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedNormalizationAxis = new(
        "PRELU018", "BatchNormalization normalizes the last axis only",
        "Layer '{0}': axis {1} of an input of shape (batch, {2}) is not the last axis; BatchNormalization is supported over the last axis (axis=-1, the channels of a map, the features of a flat input)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownLayerInput = new(
        "PRELU019", "A layer reads a layer that does not exist",
        "Layer '{0}' reads '{1}', which is no layer of the model; it can read {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InputNotDeclaredAbove = new(
        "PRELU020", "A layer reads a layer that is not declared above it",
        "Layer '{0}' reads '{1}', which {2}; a layer reads the model's input or layers declared above it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MergeShapesDiffer = new(
        "PRELU021", "A merge layer's inputs do not have matching shapes",
        "Layer '{0}' ({1}) needs inputs {2}; '{3}' is (batch, {4}) but '{5}' is (batch, {6})",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DeadLayer = new(
        "PRELU022", "A layer does not lead to the model's output",
        "Layer '{0}' does not lead to the model's output: {1}; the output is the last layer, '{2}', and every other layer must feed it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadLoss = new(
        "PRELU023", "The loss cannot be used",
        "Model '{0}': {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OutputCannotFeedBinaryCrossEntropy = new(
        "PRELU024", "The output layer cannot feed binary cross-entropy",
        "Model '{0}': with binary_crossentropy the last layer must be Dense with Activation = \"sigmoid\" (a unit per label), or an Activation(\"sigmoid\") after a Dense layer without an activation; it is {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor SoftmaxWithoutCrossEntropy = new(
        "PRELU025", "A softmax output needs a categorical cross-entropy",
        "Model '{0}': the output's softmax is computed by the categorical cross-entropies only, and the model trains with {1}; give the last layer another activation (linear for a regression) or train it with categorical_crossentropy or sparse_categorical_crossentropy",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}

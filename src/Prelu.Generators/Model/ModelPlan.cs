using System.Linq;

namespace Prelu.Generators.Model;

/// <summary>One trainable tensor: its name, shape and the C# expressions that build its initializer, regularizer and constraint.</summary>
public sealed record ParameterPlan(
    string Name,
    string Field,
    EquatableArray<int> Shape,
    int Offset,
    string InitializerCode,
    string? RegularizerCode,
    string? ConstraintCode)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>What a step's kernel call runs: a layer, or a convolution or dense layer with the activation layer that follows it fused in.</summary>
public enum StepKind
{
    Conv2D,
    MaxPooling2D,
    Dropout,
    Flatten,
    Dense,
    Activation,
}

/// <summary>The activation fused into a step (or a standalone activation step's own).</summary>
public enum ActivationPlan
{
    Linear,
    Relu,
    LeakyRelu,
    PRelu,
}

/// <summary>
/// One kernel call of the forward pass (and its partner in backward), with every shape resolved.
/// Shapes are per sample; the batch is added at run time. Buffers are named by the fields the
/// emitter declares; "Input" is the model's input.
/// </summary>
public sealed record StepPlan(
    StepKind Kind,
    int LayerIndex,                          // the (first) layer's position in the declaration, from 0
    string Name,                             // the layer's name (and, fused, "conv2d + p_re_lu")
    string Field,                            // C# identifier stem for this step's buffers and shapes
    EquatableArray<int> InputShape,
    EquatableArray<int> OutputShape,
    string InputBuffer,                      // the training-mode input: previous step's output, or "Input"
    string InferenceInputBuffer,             // the same, skipping dropout steps
    int Size,                                // filters / units
    EquatableArray<int> Window,
    EquatableArray<int> Strides,
    bool SamePadding,
    ActivationPlan Activation,
    double LeakyAlpha,
    EquatableArray<int> SharedAxes,          // PReLU, 1-based
    double Rate,                             // Dropout
    string? Kernel,                          // parameter fields
    string? Bias,
    string? Alpha,
    bool FirstTrainable)                     // no input gradient needed
{
    public int InputLength => InputShape.Aggregate(1, (a, b) => a * b);
    public int OutputLength => OutputShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Whether the step keeps a pre-activation buffer (fused activation) for backward.</summary>
    public bool KeepsPreActivation => (Kind == StepKind.Conv2D || Kind == StepKind.Dense) && Activation != ActivationPlan.Linear;
}

/// <summary>A row of the summary table, as Keras prints it.</summary>
public sealed record SummaryRow(string Layer, string Type, string OutputShape, int Parameters);

/// <summary>Everything the emitter needs: the model, checked and planned. Plain values only.</summary>
public sealed record ModelPlan(
    string? Namespace,
    string ClassName,
    string Accessibility,
    EquatableArray<int> InputShape,
    int Classes,
    EquatableArray<ParameterPlan> Parameters,
    int ParameterArenaLength,
    EquatableArray<StepPlan> Steps,
    EquatableArray<SummaryRow> Summary);

/// <summary>The builder's answer: a plan when the model is sound, and the diagnostics found.</summary>
public sealed record BuildResult(ModelPlan? Plan, EquatableArray<DiagnosticInfo> Diagnostics);

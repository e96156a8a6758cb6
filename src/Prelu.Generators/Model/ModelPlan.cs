using System.Linq;

namespace Prelu.Generators.Model;

/// <summary>One tensor of a model's arenas: its name, shape and place, how it is initialised, penalised and constrained.</summary>
public sealed record ParameterPlan(
    string Name,                         // "layer.kernel": the name in summaries and checkpoints
    string Field,                        // the C# field that holds its slice
    EquatableArray<int> Shape,
    int Offset,                          // in floats, within its arena; a multiple of Arena.Alignment
    InitializerSpec Initializer,
    RegularizerSpec? Regularizer,
    ConstraintSpec? Constraint)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>What a step's kernel call runs: a layer, or a convolution or dense layer with the activation layer that follows it fused in.</summary>
public enum StepKind
{
    Conv2D,
    MaxPooling2D,                        // and GlobalMaxPooling2D: a window of the whole map
    AveragePooling2D,                    // and GlobalAveragePooling2D
    BatchNormalization,
    Dropout,
    Flatten,
    Dense,
    Activation,
}

/// <summary>The activation fused into a step (or a standalone activation step's own); the runtime's ActivationKind.</summary>
public enum ActivationPlan
{
    Linear,
    Relu,
    LeakyRelu,
    PRelu,
    Sigmoid,
    Tanh,
    Elu,
    Selu,
    Gelu,
    Softplus,
    Swish,
}

/// <summary>A BatchNormalization step's settings and tensors (fields; gamma and beta absent without scale or center).</summary>
public sealed record NormalizationPlan(double Momentum, double Epsilon, string? Gamma, string? Beta, string MovingMean, string MovingVariance);

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
    int Size,                                // filters / units
    EquatableArray<int> Window,              // kernel or pool (height, width)
    EquatableArray<int> Strides,             // (y, x)
    bool SamePadding,
    ActivationPlan Activation,
    double ActivationParameter,              // LeakyReLU's slope, ELU's alpha
    EquatableArray<int> SharedAxes,          // PReLU, 1-based
    double Rate,                             // Dropout
    string? Kernel,                          // parameter fields
    string? Bias,
    string? Alpha,
    NormalizationPlan? Normalization,
    bool FirstTrainable,                     // no input gradient needed
    bool FusesPooling,                       // a Conv2D whose MaxPooling2D (the next step) runs in the same kernel call
    bool FusesDropout,                       // ... and the Dropout after that pooling too (in training)
    bool FusedIntoConvolution,               // that MaxPooling2D (and Dropout): its forward and backward are the convolution's call
    string? OutputGradBuffer,                // backward: the buffer that holds dL/d(output) ("LogitsGrad" for the last); null when backward stops before
    string? InputGradBuffer)                 // backward: "GradA" or "GradB" for dL/d(input), or for Dropout and Flatten the output gradient's own; null when not needed
{
    public int InputLength => InputShape.Aggregate(1, (a, b) => a * b);
    public int OutputLength => OutputShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Whether the step keeps a pre-activation buffer (fused activation) for backward.</summary>
    public bool KeepsPreActivation => (Kind == StepKind.Conv2D || Kind == StepKind.Dense) && Activation != ActivationPlan.Linear;

    /// <summary>The kernel call runs in place in backward (the input gradient is the output gradient's buffer).</summary>
    public bool GradientInPlace => Kind is StepKind.Dropout or StepKind.Flatten;
}

/// <summary>A planned buffer of the activation arena: per sample, <see cref="Length"/> floats at <see cref="Offset"/> (times the largest batch).</summary>
public sealed record BufferPlan(string Name, int Offset, int Length);

/// <summary>A row of the summary table, as Keras prints it.</summary>
public sealed record SummaryRow(string Layer, string Type, string OutputShape, int Parameters);

/// <summary>Everything the emitter prints: the model, checked and planned to the last offset. Plain values only.</summary>
public sealed record ModelPlan(
    string? Namespace,
    string ClassName,
    string Accessibility,
    EquatableArray<int> InputShape,
    int Classes,
    EquatableArray<ParameterPlan> Parameters,    // trainable, in the parameter arena
    int ParameterArenaLength,
    EquatableArray<ParameterPlan> States,        // non-trainable, in the state arena
    int StateArenaLength,
    EquatableArray<StepPlan> Steps,
    EquatableArray<BufferPlan> Buffers,          // the activation arena: step outputs, pre-activations, masks, gradients
    int ActivationFloatsPerSample,
    EquatableArray<SummaryRow> Summary);

/// <summary>The builder's answer: a plan when the model is sound, and the diagnostics found.</summary>
public sealed record BuildResult(ModelPlan? Plan, EquatableArray<DiagnosticInfo> Diagnostics);

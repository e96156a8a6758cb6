using System.Linq;

namespace Prelu.Generators.Model;

// The plan: everything the emitter prints, decided to the last buffer name and offset before anything is printed.
// Buffers are named by the expression the generated code reads them with ("p.Conv2dY", "input", a forward local);
// shapes are per sample, the batch added at run time.

/// <summary>One tensor of a model's arenas: its name, shape and place, how it is initialised, penalised and constrained.</summary>
public sealed record ParameterPlan(
    string Name,                         // "layer.kernel": the name in summaries and checkpoints
    string Field,                        // the C# field that holds its slice
    string GradientField,                // the field that holds its gradient's slice (trainable tensors)
    EquatableArray<int> Shape,
    int Offset,                          // in floats, within its arena; a multiple of Arena.Alignment
    InitializerSpec Initializer,
    RegularizerSpec? Regularizer,
    ConstraintSpec? Constraint)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>A trainable tensor as a step uses it: its field and its gradient's.</summary>
public sealed record ParameterRef(string Field, string GradientField);

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

/// <summary>How merge layers combine their inputs: the runtime's MergeKind.</summary>
public enum MergePlan
{
    Add,
    Multiply,
    Average,
    Maximum,
}

/// <summary>
/// An activation as a kernel runs it, printed as the runtime's FusedActivation in the field <see cref="Field"/>:
/// its kind; the constant the kind takes (LeakyReLU's slope, ELU's alpha; 0 for the others); for PReLU the
/// shape it covers, its shared axes (1-based) and its alphas.
/// </summary>
public sealed record EpiloguePlan(string Field, ActivationPlan Kind, double Constant, EquatableArray<int> Shape, EquatableArray<int> SharedAxes, ParameterRef? Alpha);

/// <summary>
/// A tensor a step reads: the expression forward reads it by (a dropout's output is a local, since dropout is the
/// identity outside training), the buffer backward reads (the training-mode one), and its shape.
/// </summary>
public sealed record Operand(string Forward, string Backward, EquatableArray<int> Shape);

/// <summary>After a step's backward call: the gradient it wrote into a temporary buffer is added into the tensor's total.</summary>
public sealed record SumPlan(string Gradient, string Total);

/// <summary>
/// A step's part of backward: the gradient of its output it reads, the buffer each input's gradient goes to ("null"
/// where the input needs none), and the sums that follow the call, for inputs whose gradient was begun by a later reader.
/// </summary>
public sealed record GradientPlan(string OutputGrad, EquatableArray<string> InputGrads, EquatableArray<SumPlan> Sums);

/// <summary>A 2-D window geometry over a (Height, Width, Channels) input: a convolution's kernel or a pooling's window.</summary>
public sealed record WindowPlan(int Height, int Width, int Channels, int WindowHeight, int WindowWidth, int StrideY, int StrideX, bool Same);

/// <summary>
/// One kernel call of the forward pass (and its partner in backward): <see cref="Label"/> names the layers it runs,
/// <see cref="Shape"/> is the Plan field holding its shape record (null when it needs none). <see cref="Gradient"/> is
/// null when backward does not reach it.
/// </summary>
public abstract record StepPlan(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient)
{
    public Operand Input => Inputs[0];
}

/// <summary>A max pooling that runs in its convolution's call, and the dropout after it (in training) if there is one.</summary>
public sealed record PoolingAfterPlan(string Label, string Shape, WindowPlan Window, string Pooled, EquatableArray<int> PooledShape, DropoutAfterPlan? Dropout,
    string? GradientWorkspace);

/// <summary>A dropout in a pooled convolution's call: its seed's layer index, mask and output, and the local forward reads it by.</summary>
public sealed record DropoutAfterPlan(string Label, double Rate, int LayerIndex, string Mask, string Output, string ForwardLocal, EquatableArray<int> Shape);

/// <summary>
/// A BatchNormalization that runs in its convolution's call, between the convolution and the step's epilogue: its
/// arguments, tensors, the convolution's own output (the normalization's input, kept for backward) and the gradient
/// workspace backward lends the call.
/// </summary>
public sealed record NormalizationAfterPlan(string Label, double Momentum, double Epsilon, ParameterRef? Gamma, ParameterRef? Beta, string MovingMean,
    string MovingVariance, string ConvolutionOutput, string? GradientWorkspace);

/// <summary>
/// A convolution, and in its call the epilogue's activation; and either a max pooling after it (<see cref="Pooling"/>) or
/// a BatchNormalization before the activation (<see cref="Normalization"/>), never both.
/// </summary>
public sealed record ConvolutionStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    WindowPlan Window, int Filters, EpiloguePlan Epilogue, ParameterRef Kernel, ParameterRef? Bias, string? PreActivation, string Output,
    PoolingAfterPlan? Pooling, NormalizationAfterPlan? Normalization)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

/// <summary>A depthwise convolution: Multiplier kernels per input channel (Window.Channels of them).</summary>
public sealed record DepthwiseConvolutionStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    WindowPlan Window, int Multiplier, EpiloguePlan Epilogue, ParameterRef Kernel, ParameterRef? Bias, string? PreActivation, string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

public sealed record DenseStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    int InputFeatures, int Units, EpiloguePlan Epilogue, ParameterRef Kernel, ParameterRef? Bias, string? PreActivation, string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

/// <summary>Max or average pooling (global pooling is one window over the whole map).</summary>
public sealed record PoolingStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    bool Max, WindowPlan Window, string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

public sealed record BatchNormalizationStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    int Positions, int Channels, double Momentum, double Epsilon, ParameterRef? Gamma, ParameterRef? Beta, string MovingMean, string MovingVariance,
    string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

/// <summary>Keras's Normalization: (x - mean) / sqrt(variance), the statistics Adapt computed, as BatchNormalization's inference computes it.</summary>
public sealed record NormalizationStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    int Positions, int Features, string Mean, string Variance, string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

public sealed record DropoutStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    double Rate, int LayerIndex, string Mask, string Output, string ForwardLocal)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

/// <summary>An activation layer that could not be fused into a convolution or dense layer before it.</summary>
public sealed record ActivationStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    EpiloguePlan Epilogue, string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

public sealed record MergeStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    MergePlan Merge, string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

/// <summary>Concatenate: each input seen as (Rows, Widths[i]) per sample.</summary>
public sealed record ConcatenateStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient,
    int Rows, EquatableArray<int> Widths, string Output)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

/// <summary>Flatten: no call (NHWC is already row-major); its readers read its input's buffer.</summary>
public sealed record FlattenStep(string Label, string? Shape, EquatableArray<Operand> Inputs, EquatableArray<int> OutputShape, GradientPlan? Gradient)
    : StepPlan(Label, Shape, Inputs, OutputShape, Gradient);

/// <summary>
/// A planned buffer of the activation arena: per sample, <see cref="Length"/> floats at <see cref="Offset"/> (times the
/// largest batch). <see cref="Field"/> is its field in the generated Plan class.
/// </summary>
public sealed record BufferPlan(string Field, int Offset, int Length);

/// <summary>A layer's output as the numerical diagnosis reads it after forward: the layer's name and its buffer.</summary>
public sealed record LayerOutputPlan(string Layer, string Buffer);

/// <summary>A row of the summary table, as Keras prints it; <see cref="ConnectedTo"/> only for models that are not a plain stack.</summary>
public sealed record SummaryRow(string Layer, string Type, string OutputShape, int Parameters, string? ConnectedTo);

/// <summary>
/// A layer as Keras's <c>get_config</c> describes it, for whoever rebuilds the model elsewhere (the ONNX exporter): its
/// name and type, the layers it reads ("input" for the model's input), its output shape (one sample) and its arguments
/// by Keras's names, each value as Keras would print it ("[3, 3]", "same", "0.001", "true").
/// </summary>
public sealed record LayerConfigPlan(string Name, string Type, EquatableArray<string> Inputs, EquatableArray<int> OutputShape,
    EquatableArray<ConfigEntry> Config);

/// <summary>One argument of a layer's configuration.</summary>
public sealed record ConfigEntry(string Key, string Value);

/// <summary>Everything the emitter prints: the model, checked and planned to the last offset. Plain values only.</summary>
public sealed record ModelPlan(
    string? Namespace,
    string ClassName,
    string Accessibility,
    EquatableArray<int> InputShape,
    int OutputLength,                            // floats of one sample's output: the classes of a classifier
    string LossKind,                             // the LossKind member the model trains with
    float LossDelta,                             // Huber's delta
    EquatableArray<ParameterPlan> Parameters,    // trainable, in the parameter arena
    int ParameterArenaLength,
    EquatableArray<ParameterPlan> States,        // non-trainable, in the state arena
    int StateArenaLength,
    EquatableArray<StepPlan> Steps,              // forward order; backward runs them in reverse
    EquatableArray<BufferPlan> Buffers,          // the activation arena: outputs, pre-activations, masks, gradients, loss buffers
    int ActivationFloatsPerSample,
    string Outputs,                              // the last step's output: what the loss reads (logits for the cross-entropies)
    string Predictions,                          // the loss's predictions (softmax, sigmoid, or the outputs)
    string OutputsGrad,                          // dL/doutputs
    EquatableArray<LayerOutputPlan> LayerOutputs,
    bool Functional,                             // not a plain stack: the summary shows what each layer reads
    EquatableArray<SummaryRow> Summary,
    EquatableArray<LayerConfigPlan> Layers,      // every layer's Keras configuration, in declaration order
    bool InferenceOnly);                         // no gradients: the arena holds the forward buffers and the predictions

/// <summary>The builder's answer: a plan when the model is sound, and the diagnostics found.</summary>
public sealed record BuildResult(ModelPlan? Plan, EquatableArray<DiagnosticInfo> Diagnostics);

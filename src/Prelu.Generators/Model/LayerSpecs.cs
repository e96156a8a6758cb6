namespace Prelu.Generators.Model;

/// <summary>The layer attributes a model is declared with.</summary>
public enum LayerKind
{
    Conv2D,
    DepthwiseConv2D,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    BatchNormalization,
    Normalization,
    Dropout,
    Flatten,
    Dense,
    PReLU,
    ReLU,
    LeakyReLU,
    ELU,
    Activation,
    Add,
    Multiply,
    Average,
    Maximum,
    Concatenate,
}

/// <summary>
/// One layer attribute as written, before anything is checked: the parser's output. Each kind of layer has its own
/// record below with exactly the arguments it takes; arguments a declaration leaves out hold Keras's defaults.
/// </summary>
/// <param name="Inputs">The layers it reads, by name, as written: a merge's list, another layer's <c>Input</c> (empty: the layer declared above it).</param>
public abstract record LayerSpec(LayerKind Kind, string? Name, EquatableArray<string> Inputs, LocationInfo? Location);

/// <summary>A kernel and bias's settings, as Conv2D and Dense take them.</summary>
public sealed record WeightsSpec(
    bool UseBias,
    string KernelInitializer,
    string BiasInitializer,
    string? KernelRegularizer,
    string? BiasRegularizer,
    string? KernelConstraint,
    string? BiasConstraint);

/// <summary>A layer with a kernel, an optional bias and an activation its kernel call runs as the epilogue (where an activation layer can fuse).</summary>
public abstract record WeightedLayerSpec(LayerKind Kind, string? Name, EquatableArray<string> Inputs, LocationInfo? Location, string Activation,
    WeightsSpec Weights)
    : LayerSpec(Kind, Name, Inputs, Location);

public sealed record Conv2DSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location,
    int Filters, EquatableArray<int> KernelSize, EquatableArray<int> Strides, string Padding, string Activation, WeightsSpec Weights)
    : WeightedLayerSpec(LayerKind.Conv2D, Name, Inputs, Location, Activation, Weights);

/// <summary>DepthwiseConv2D; <see cref="WeightsSpec"/>'s kernel settings are its depthwise_* arguments.</summary>
public sealed record DepthwiseConv2DSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location,
    int DepthMultiplier, EquatableArray<int> KernelSize, EquatableArray<int> Strides, string Padding, string Activation, WeightsSpec Weights)
    : WeightedLayerSpec(LayerKind.DepthwiseConv2D, Name, Inputs, Location, Activation, Weights);

public sealed record DenseSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location, int Units, string Activation, WeightsSpec Weights)
    : WeightedLayerSpec(LayerKind.Dense, Name, Inputs, Location, Activation, Weights);

/// <summary>MaxPooling2D or AveragePooling2D; empty strides mean the pool size (Keras's default).</summary>
public sealed record Pooling2DSpec(LayerKind Kind, string? Name, EquatableArray<string> Inputs, LocationInfo? Location,
    EquatableArray<int> PoolSize, EquatableArray<int> Strides, string Padding)
    : LayerSpec(Kind, Name, Inputs, Location);

/// <summary>GlobalMaxPooling2D or GlobalAveragePooling2D.</summary>
public sealed record GlobalPooling2DSpec(LayerKind Kind, string? Name, EquatableArray<string> Inputs, LocationInfo? Location)
    : LayerSpec(Kind, Name, Inputs, Location);

/// <summary>Keras's Normalization: fixed statistics of the data (Adapt), the model's input normalised feature by feature.</summary>
public sealed record NormalizationSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location, int Axis)
    : LayerSpec(LayerKind.Normalization, Name, Inputs, Location);

public sealed record BatchNormalizationSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location,
    int Axis,
    double Momentum,
    double Epsilon,
    bool Center,
    bool Scale,
    string BetaInitializer,
    string GammaInitializer,
    string MovingMeanInitializer,
    string MovingVarianceInitializer,
    string? BetaRegularizer,
    string? GammaRegularizer,
    string? BetaConstraint,
    string? GammaConstraint)
    : LayerSpec(LayerKind.BatchNormalization, Name, Inputs, Location);

public sealed record DropoutSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location, double Rate)
    : LayerSpec(LayerKind.Dropout, Name, Inputs, Location);

public sealed record FlattenSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location)
    : LayerSpec(LayerKind.Flatten, Name, Inputs, Location);

public sealed record PReluSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location,
    string AlphaInitializer, string? AlphaRegularizer, string? AlphaConstraint, EquatableArray<int> SharedAxes)
    : LayerSpec(LayerKind.PReLU, Name, Inputs, Location);

/// <summary>
/// ReLU, LeakyReLU, ELU or Activation("..."): the activation by its Keras name ("relu", "leaky_relu", "elu", ...),
/// and the constant the layer gives it (LeakyReLU's and ELU's alpha), or null for the activation's own default.
/// </summary>
public sealed record ActivationLayerSpec(LayerKind Kind, string? Name, EquatableArray<string> Inputs, LocationInfo? Location,
    string Activation, double? Constant)
    : LayerSpec(Kind, Name, Inputs, Location);

/// <summary>Add, Multiply, Average or Maximum of the layers it names.</summary>
public sealed record MergeSpec(LayerKind Kind, string? Name, EquatableArray<string> Inputs, LocationInfo? Location)
    : LayerSpec(Kind, Name, Inputs, Location);

/// <summary>Concatenate along Axis, counted as Keras counts it (the batch is axis 0; negative from the end).</summary>
public sealed record ConcatenateSpec(string? Name, EquatableArray<string> Inputs, LocationInfo? Location, int Axis)
    : LayerSpec(LayerKind.Concatenate, Name, Inputs, Location);

/// <summary>A declared model as written: the class and its attributes in order.</summary>
public sealed record ModelSpec(
    string? Namespace,
    string ClassName,
    string Accessibility,
    LocationInfo? Location,
    EquatableArray<int> InputShape,
    LocationInfo? InputShapeLocation,
    EquatableArray<LayerSpec> Layers,
    LossSpec? Loss,
    bool InferenceOnly);                           // [InferenceOnly]: no gradients, no backward pass

/// <summary>The class's [Loss] as written: Keras's name and Huber's delta.</summary>
public sealed record LossSpec(string Name, double Delta, LocationInfo? Location);

/// <summary>The parser's answer: a spec when the class can be a model, and what is wrong with it.</summary>
public sealed record ParseResult(ModelSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics);

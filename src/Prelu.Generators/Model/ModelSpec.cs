namespace Prelu.Generators.Model;

/// <summary>The layer kinds the attributes declare.</summary>
public enum LayerKind
{
    Conv2D,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    BatchNormalization,
    Dropout,
    Flatten,
    Dense,
    PReLU,
    ReLU,
    LeakyReLU,
    ELU,
    Activation,
}

/// <summary>
/// One layer attribute as written, before anything is checked: the parser's output. A flat record
/// with every argument any layer kind takes (unused ones keep Keras's defaults), compared by value.
/// </summary>
public sealed record LayerSpec(
    LayerKind Kind,
    string? Name,
    LocationInfo? Location,
    int Size,                          // Conv2D filters, Dense units
    EquatableArray<int> Window,        // Conv2D kernel size, pooling pool size
    EquatableArray<int> Strides,
    string Padding,
    string Activation,                 // Conv2D's and Dense's argument; the Activation layer's name
    bool UseBias,
    string KernelInitializer,
    string BiasInitializer,
    string? KernelRegularizer,
    string? BiasRegularizer,
    string? KernelConstraint,
    string? BiasConstraint,
    double Rate,                       // Dropout rate, LeakyReLU's slope, ELU's alpha
    string AlphaInitializer,
    string? AlphaRegularizer,
    string? AlphaConstraint,
    EquatableArray<int> SharedAxes,
    BatchNormSpec Normalization);

/// <summary>BatchNormalization's arguments as written (Keras's defaults for the other layers, which ignore them).</summary>
public sealed record BatchNormSpec(
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
{
    public static BatchNormSpec Default { get; } = new(LayerDefaults.Axis, LayerDefaults.Momentum, LayerDefaults.Epsilon, LayerDefaults.Center,
        LayerDefaults.Scale, LayerDefaults.BetaInitializer, LayerDefaults.GammaInitializer, LayerDefaults.MovingMeanInitializer,
        LayerDefaults.MovingVarianceInitializer, null, null, null, null);
}

/// <summary>A declared model as written: the class and its attributes in order.</summary>
public sealed record ModelSpec(
    string? Namespace,
    string ClassName,
    string Accessibility,
    LocationInfo? Location,
    EquatableArray<int> InputShape,
    LocationInfo? InputShapeLocation,
    EquatableArray<LayerSpec> Layers);

/// <summary>The parser's answer: a spec when the class can be a model, and what is wrong with it.</summary>
public sealed record ParseResult(ModelSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics);

namespace Prelu.Generators.Model;

/// <summary>The layer kinds the attributes declare.</summary>
public enum LayerKind
{
    Conv2D,
    MaxPooling2D,
    Dropout,
    Flatten,
    Dense,
    PReLU,
    ReLU,
    LeakyReLU,
}

/// <summary>
/// One layer attribute as written, before anything is checked: the parser's output. A flat record
/// with every argument any layer kind takes (unused ones keep their defaults), compared by value.
/// </summary>
public sealed record LayerSpec(
    LayerKind Kind,
    string? Name,
    LocationInfo? Location,
    int Size,                          // Conv2D filters, Dense units
    EquatableArray<int> Window,        // Conv2D kernel size, MaxPooling2D pool size
    EquatableArray<int> Strides,
    string Padding,
    string Activation,
    bool UseBias,
    string KernelInitializer,
    string BiasInitializer,
    string? KernelRegularizer,
    string? BiasRegularizer,
    string? KernelConstraint,
    string? BiasConstraint,
    double Rate,                       // Dropout rate, LeakyReLU alpha
    string AlphaInitializer,
    string? AlphaRegularizer,
    string? AlphaConstraint,
    EquatableArray<int> SharedAxes);

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

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Prelu.Generators.Diagnostics;
using Prelu.Generators.Model;

namespace Prelu.Generators;

// Parsing: the annotated class, read into plain records. Nothing here judges the layers; that is Build's job.
public sealed partial class ModelGenerator
{
    private static readonly Dictionary<string, LayerKind> LayerAttributes = new()
    {
        ["Prelu.Conv2DAttribute"] = LayerKind.Conv2D,
        ["Prelu.DepthwiseConv2DAttribute"] = LayerKind.DepthwiseConv2D,
        ["Prelu.MaxPooling2DAttribute"] = LayerKind.MaxPooling2D,
        ["Prelu.AveragePooling2DAttribute"] = LayerKind.AveragePooling2D,
        ["Prelu.GlobalAveragePooling2DAttribute"] = LayerKind.GlobalAveragePooling2D,
        ["Prelu.GlobalMaxPooling2DAttribute"] = LayerKind.GlobalMaxPooling2D,
        ["Prelu.BatchNormalizationAttribute"] = LayerKind.BatchNormalization,
        ["Prelu.NormalizationAttribute"] = LayerKind.Normalization,
        ["Prelu.DropoutAttribute"] = LayerKind.Dropout,
        ["Prelu.FlattenAttribute"] = LayerKind.Flatten,
        ["Prelu.DenseAttribute"] = LayerKind.Dense,
        ["Prelu.PReLUAttribute"] = LayerKind.PReLU,
        ["Prelu.ReLUAttribute"] = LayerKind.ReLU,
        ["Prelu.LeakyReLUAttribute"] = LayerKind.LeakyReLU,
        ["Prelu.ELUAttribute"] = LayerKind.ELU,
        ["Prelu.ActivationAttribute"] = LayerKind.Activation,
        ["Prelu.AddAttribute"] = LayerKind.Add,
        ["Prelu.MultiplyAttribute"] = LayerKind.Multiply,
        ["Prelu.AverageAttribute"] = LayerKind.Average,
        ["Prelu.MaximumAttribute"] = LayerKind.Maximum,
        ["Prelu.ConcatenateAttribute"] = LayerKind.Concatenate,
    };

    internal static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var node = (ClassDeclarationSyntax)context.TargetNode;
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var classLocation = LocationInfo.From(node.Identifier.GetLocation());
        var diagnostics = new List<DiagnosticInfo>();

        if (!node.Modifiers.Any(SyntaxKind.PartialKeyword))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotPartial, classLocation, type.Name));
        if (type.ContainingType is not null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedClass, classLocation, type.Name, "is nested in another type; declare it at namespace level"));
        if (type.TypeParameters.Length > 0)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedClass, classLocation, type.Name, "is generic; a model's shapes must all be known"));
        if (type.IsStatic || type.IsAbstract)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedClass, classLocation, type.Name, "is static or abstract; a model is instantiated"));
        if (type.BaseType is { SpecialType: not SpecialType.System_Object })
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedClass, classLocation, type.Name, $"derives from {type.BaseType.ToDisplayString()}; the generated code derives it from Prelu.CompiledModel"));
        if (diagnostics.Count > 0)
            return new ParseResult(null, diagnostics.ToEquatableArray());

        var inputAttribute = context.Attributes[0];
        var inputShape = IntArray(inputAttribute.ConstructorArguments.FirstOrDefault());
        var inputLocation = LocationInfo.From(inputAttribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken));

        // Layers in source order: the order of the attribute lists as written.
        var layers = new List<(Location Where, LayerSpec Spec)>();
        foreach (var attribute in type.GetAttributes())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (attribute.AttributeClass is null || !LayerAttributes.TryGetValue(attribute.AttributeClass.ToDisplayString(), out var kind))
                continue;
            var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken);
            var where = syntax?.GetLocation() ?? Location.None;
            layers.Add((where, ReadLayer(kind, attribute, LocationInfo.From(syntax))));
        }
        var ordered = layers
            .OrderBy(l => l.Where.SourceTree?.FilePath ?? "", System.StringComparer.Ordinal)
            .ThenBy(l => l.Where.SourceSpan.Start)
            .Select(l => l.Spec);

        LossSpec? loss = null;
        if (type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "Prelu.LossAttribute") is { } lossAttribute)
        {
            var a = new AttributeArguments(lossAttribute);
            loss = new LossSpec(a.At(0)?.Value as string ?? "", a.Number("Delta", 1.0),
                LocationInfo.From(lossAttribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken)));
        }

        string? ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
        string accessibility = type.DeclaredAccessibility == Accessibility.Public ? "public" : "internal";
        bool inferenceOnly = type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "Prelu.InferenceOnlyAttribute");
        var spec = new ModelSpec(ns, type.Name, accessibility, classLocation, inputShape.ToEquatableArray(), inputLocation, ordered.ToEquatableArray(),
            loss, inferenceOnly);
        return new ParseResult(spec, EquatableArray<DiagnosticInfo>.Empty);
    }

    /// <summary>A layer attribute's arguments as written, each read with Keras's default where it is left out.</summary>
    private sealed class AttributeArguments(AttributeData attribute)
    {
        private readonly Dictionary<string, TypedConstant> _named = attribute.NamedArguments.ToDictionary(a => a.Key, a => a.Value);

        public System.Collections.Immutable.ImmutableArray<TypedConstant> Positional => attribute.ConstructorArguments;

        public TypedConstant? At(int index) => index < Positional.Length ? Positional[index] : null;

        public string Text(string name, string fallback) => _named.TryGetValue(name, out var v) && v.Value is string s ? s : fallback;

        public string? OptionalText(string name) => _named.TryGetValue(name, out var v) ? v.Value as string : null;

        public int[] Ints(string name, int[] fallback) => _named.TryGetValue(name, out var v) ? IntArray(v) : fallback;

        public double Number(string name, double fallback) => _named.TryGetValue(name, out var v) && v.Value is double d ? d : fallback;

        public int Integer(string name, int fallback) => _named.TryGetValue(name, out var v) && v.Value is int i ? i : fallback;

        public bool Flag(string name, bool fallback) => _named.TryGetValue(name, out var v) && v.Value is bool b ? b : fallback;

        /// <summary>A single-input layer's Input, as a list of one, or none (the layer above).</summary>
        public EquatableArray<string> Input => OptionalText("Input") is { } input ? new[] { input }.ToEquatableArray() : EquatableArray<string>.Empty;

        /// <summary>The kernel and bias settings; <paramref name="kernel"/> names the kernel's arguments ("Kernel", "Depthwise").</summary>
        public WeightsSpec Weights(string kernel = "Kernel") => new(
            Flag("UseBias", true),
            Text(kernel + "Initializer", LayerDefaults.KernelInitializer),
            Text("BiasInitializer", LayerDefaults.BiasInitializer),
            OptionalText(kernel + "Regularizer"),
            OptionalText("BiasRegularizer"),
            OptionalText(kernel + "Constraint"),
            OptionalText("BiasConstraint"));
    }

    // An argument the declaration leaves out takes Keras's default (LayerDefaults, which the attributes start from too).
    private static LayerSpec ReadLayer(LayerKind kind, AttributeData attribute, LocationInfo? location)
    {
        var a = new AttributeArguments(attribute);
        string? name = a.OptionalText("Name");
        var input = a.Input;
        switch (kind)
        {
            case LayerKind.Conv2D:
                return new Conv2DSpec(name, input, location,
                    a.At(0)?.Value is int filters ? filters : 0,
                    (a.At(1) is { } kernel ? IntArray(kernel) : Array.Empty<int>()).ToEquatableArray(),
                    a.Ints("Strides", new[] { LayerDefaults.ConvolutionStride }).ToEquatableArray(),
                    a.Text("Padding", LayerDefaults.Padding),
                    a.Text("Activation", LayerDefaults.Activation),
                    a.Weights());
            case LayerKind.DepthwiseConv2D:
                return new DepthwiseConv2DSpec(name, input, location,
                    a.Integer("DepthMultiplier", LayerDefaults.DepthMultiplier),
                    (a.At(0) is { } depthwiseKernel ? IntArray(depthwiseKernel) : Array.Empty<int>()).ToEquatableArray(),
                    a.Ints("Strides", new[] { LayerDefaults.ConvolutionStride }).ToEquatableArray(),
                    a.Text("Padding", LayerDefaults.Padding),
                    a.Text("Activation", LayerDefaults.Activation),
                    a.Weights("Depthwise"));
            case LayerKind.Dense:
                return new DenseSpec(name, input, location, a.At(0)?.Value is int units ? units : 0, a.Text("Activation", LayerDefaults.Activation), a.Weights());
            case LayerKind.MaxPooling2D:
            case LayerKind.AveragePooling2D:
            {
                var pool = a.At(0) is { } size ? IntArray(size) : Array.Empty<int>();
                return new Pooling2DSpec(kind, name, input, location,
                    (pool.Length == 0 ? new[] { LayerDefaults.PoolSize } : pool).ToEquatableArray(),
                    a.Ints("Strides", Array.Empty<int>()).ToEquatableArray(),
                    a.Text("Padding", LayerDefaults.Padding));
            }
            case LayerKind.GlobalAveragePooling2D:
            case LayerKind.GlobalMaxPooling2D:
                return new GlobalPooling2DSpec(kind, name, input, location);
            case LayerKind.Normalization:
                return new NormalizationSpec(name, input, location, a.Integer("Axis", LayerDefaults.Axis));
            case LayerKind.BatchNormalization:
                return new BatchNormalizationSpec(name, input, location,
                    a.Integer("Axis", LayerDefaults.Axis),
                    a.Number("Momentum", LayerDefaults.Momentum),
                    a.Number("Epsilon", LayerDefaults.Epsilon),
                    a.Flag("Center", LayerDefaults.Center),
                    a.Flag("Scale", LayerDefaults.Scale),
                    a.Text("BetaInitializer", LayerDefaults.BetaInitializer),
                    a.Text("GammaInitializer", LayerDefaults.GammaInitializer),
                    a.Text("MovingMeanInitializer", LayerDefaults.MovingMeanInitializer),
                    a.Text("MovingVarianceInitializer", LayerDefaults.MovingVarianceInitializer),
                    a.OptionalText("BetaRegularizer"),
                    a.OptionalText("GammaRegularizer"),
                    a.OptionalText("BetaConstraint"),
                    a.OptionalText("GammaConstraint"));
            case LayerKind.Dropout:
                return new DropoutSpec(name, input, location, a.At(0)?.Value is double rate ? rate : 0);
            case LayerKind.Flatten:
                return new FlattenSpec(name, input, location);
            case LayerKind.PReLU:
                return new PReluSpec(name, input, location,
                    a.Text("AlphaInitializer", LayerDefaults.AlphaInitializer),
                    a.OptionalText("AlphaRegularizer"),
                    a.OptionalText("AlphaConstraint"),
                    a.Ints("SharedAxes", Array.Empty<int>()).ToEquatableArray());
            case LayerKind.ReLU:
                return new ActivationLayerSpec(kind, name, input, location, "relu", null);
            case LayerKind.LeakyReLU:
                return new ActivationLayerSpec(kind, name, input, location, "leaky_relu", a.Number("Alpha", LayerDefaults.LeakyReLUSlope));
            case LayerKind.ELU:
                return new ActivationLayerSpec(kind, name, input, location, "elu", a.Number("Alpha", LayerDefaults.EluAlpha));
            case LayerKind.Activation:
                return new ActivationLayerSpec(kind, name, input, location, a.At(0)?.Value is string activation ? activation : "", null);
            case LayerKind.Concatenate:
                return new ConcatenateSpec(name, Names(a.At(0)), location, a.Integer("Axis", LayerDefaults.ConcatenateAxis));
            default: // Add, Multiply, Average, Maximum
                return new MergeSpec(kind, name, Names(a.At(0)), location);
        }
    }

    // A merge's inputs, as written (a null among them reads as "", which no layer is named).
    private static EquatableArray<string> Names(TypedConstant? constant) =>
        constant is { Kind: TypedConstantKind.Array, IsNull: false } array
            ? array.Values.Select(v => v.Value as string ?? "").ToEquatableArray()
            : EquatableArray<string>.Empty;

    private static int[] IntArray(TypedConstant constant) =>
        constant.Kind == TypedConstantKind.Array && !constant.IsNull
            ? constant.Values.Select(v => v.Value is int i ? i : 0).ToArray()
            : constant.Value is int single ? new[] { single } : Array.Empty<int>();
}

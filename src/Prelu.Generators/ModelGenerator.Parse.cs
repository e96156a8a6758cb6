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
        ["Prelu.MaxPooling2DAttribute"] = LayerKind.MaxPooling2D,
        ["Prelu.AveragePooling2DAttribute"] = LayerKind.AveragePooling2D,
        ["Prelu.GlobalAveragePooling2DAttribute"] = LayerKind.GlobalAveragePooling2D,
        ["Prelu.GlobalMaxPooling2DAttribute"] = LayerKind.GlobalMaxPooling2D,
        ["Prelu.BatchNormalizationAttribute"] = LayerKind.BatchNormalization,
        ["Prelu.DropoutAttribute"] = LayerKind.Dropout,
        ["Prelu.FlattenAttribute"] = LayerKind.Flatten,
        ["Prelu.DenseAttribute"] = LayerKind.Dense,
        ["Prelu.PReLUAttribute"] = LayerKind.PReLU,
        ["Prelu.ReLUAttribute"] = LayerKind.ReLU,
        ["Prelu.LeakyReLUAttribute"] = LayerKind.LeakyReLU,
        ["Prelu.ELUAttribute"] = LayerKind.ELU,
        ["Prelu.ActivationAttribute"] = LayerKind.Activation,
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
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedClass, classLocation, type.Name, $"derives from {type.BaseType.ToDisplayString()}; the generated code derives it from Prelu.Models.CompiledModel"));
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

        string? ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
        string accessibility = type.DeclaredAccessibility == Accessibility.Public ? "public" : "internal";
        var spec = new ModelSpec(ns, type.Name, accessibility, classLocation, inputShape.ToEquatableArray(), inputLocation, ordered.ToEquatableArray());
        return new ParseResult(spec, EquatableArray<DiagnosticInfo>.Empty);
    }

    // An argument the declaration leaves out takes Keras's default (LayerDefaults, which the attributes start from too).
    private static LayerSpec ReadLayer(LayerKind kind, AttributeData attribute, LocationInfo? location)
    {
        var args = attribute.ConstructorArguments;
        var named = attribute.NamedArguments.ToDictionary(a => a.Key, a => a.Value);

        string Text(string name, string fallback) => named.TryGetValue(name, out var v) && v.Value is string s ? s : fallback;
        string? OptionalText(string name) => named.TryGetValue(name, out var v) ? v.Value as string : null;
        int[] Ints(string name, int[] fallback) => named.TryGetValue(name, out var v) ? IntArray(v) : fallback;
        double Number(string name, double fallback) => named.TryGetValue(name, out var v) && v.Value is double d ? d : fallback;
        bool Flag(string name, bool fallback) => named.TryGetValue(name, out var v) && v.Value is bool b ? b : fallback;

        bool pooling = kind is LayerKind.MaxPooling2D or LayerKind.AveragePooling2D;
        int size = kind is LayerKind.Conv2D or LayerKind.Dense && args.Length > 0 && args[0].Value is int n ? n : 0;
        int[] window = kind switch
        {
            LayerKind.Conv2D => args.Length > 1 ? IntArray(args[1]) : Array.Empty<int>(),
            _ when pooling => args.Length > 0 ? IntArray(args[0]) : Array.Empty<int>(),
            _ => Array.Empty<int>(),
        };
        if (pooling && window.Length == 0)
            window = new[] { LayerDefaults.PoolSize };
        double rate = kind switch
        {
            LayerKind.Dropout => args.Length > 0 && args[0].Value is double d ? d : 0,
            LayerKind.LeakyReLU => Number("Alpha", LayerDefaults.LeakyReLUSlope),
            LayerKind.ELU => Number("Alpha", LayerDefaults.EluAlpha),
            _ => 0,
        };
        string activation = kind == LayerKind.Activation
            ? args.Length > 0 && args[0].Value is string name ? name : ""
            : Text("Activation", LayerDefaults.Activation);
        var defaults = BatchNormSpec.Default;
        var normalization = kind != LayerKind.BatchNormalization ? defaults : new BatchNormSpec(
            named.TryGetValue("Axis", out var axis) && axis.Value is int a ? a : defaults.Axis,
            Number("Momentum", defaults.Momentum),
            Number("Epsilon", defaults.Epsilon),
            Flag("Center", defaults.Center),
            Flag("Scale", defaults.Scale),
            Text("BetaInitializer", defaults.BetaInitializer),
            Text("GammaInitializer", defaults.GammaInitializer),
            Text("MovingMeanInitializer", defaults.MovingMeanInitializer),
            Text("MovingVarianceInitializer", defaults.MovingVarianceInitializer),
            OptionalText("BetaRegularizer"),
            OptionalText("GammaRegularizer"),
            OptionalText("BetaConstraint"),
            OptionalText("GammaConstraint"));

        return new LayerSpec(
            kind,
            OptionalText("Name"),
            location,
            size,
            window.ToEquatableArray(),
            Ints("Strides", kind == LayerKind.Conv2D ? new[] { LayerDefaults.ConvolutionStride } : Array.Empty<int>()).ToEquatableArray(),
            Text("Padding", LayerDefaults.Padding),
            activation,
            Flag("UseBias", true),
            Text("KernelInitializer", LayerDefaults.KernelInitializer),
            Text("BiasInitializer", LayerDefaults.BiasInitializer),
            OptionalText("KernelRegularizer"),
            OptionalText("BiasRegularizer"),
            OptionalText("KernelConstraint"),
            OptionalText("BiasConstraint"),
            rate,
            Text("AlphaInitializer", LayerDefaults.AlphaInitializer),
            OptionalText("AlphaRegularizer"),
            OptionalText("AlphaConstraint"),
            Ints("SharedAxes", Array.Empty<int>()).ToEquatableArray(),
            normalization);
    }

    private static int[] IntArray(TypedConstant constant) =>
        constant.Kind == TypedConstantKind.Array && !constant.IsNull
            ? constant.Values.Select(v => v.Value is int i ? i : 0).ToArray()
            : constant.Value is int single ? new[] { single } : Array.Empty<int>();
}

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
        ["Prelu.DropoutAttribute"] = LayerKind.Dropout,
        ["Prelu.FlattenAttribute"] = LayerKind.Flatten,
        ["Prelu.DenseAttribute"] = LayerKind.Dense,
        ["Prelu.PReLUAttribute"] = LayerKind.PReLU,
        ["Prelu.ReLUAttribute"] = LayerKind.ReLU,
        ["Prelu.LeakyReLUAttribute"] = LayerKind.LeakyReLU,
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

    private static LayerSpec ReadLayer(LayerKind kind, AttributeData attribute, LocationInfo? location)
    {
        var args = attribute.ConstructorArguments;
        var named = attribute.NamedArguments.ToDictionary(a => a.Key, a => a.Value);

        string Text(string name, string fallback) => named.TryGetValue(name, out var v) && v.Value is string s ? s : fallback;
        string? OptionalText(string name) => named.TryGetValue(name, out var v) ? v.Value as string : null;
        int[] Ints(string name, int[] fallback) => named.TryGetValue(name, out var v) ? IntArray(v) : fallback;

        int size = kind is LayerKind.Conv2D or LayerKind.Dense && args.Length > 0 && args[0].Value is int n ? n : 0;
        int[] window = kind switch
        {
            LayerKind.Conv2D => args.Length > 1 ? IntArray(args[1]) : Array.Empty<int>(),
            LayerKind.MaxPooling2D => args.Length > 0 ? IntArray(args[0]) : Array.Empty<int>(),
            _ => Array.Empty<int>(),
        };
        if (kind == LayerKind.MaxPooling2D && window.Length == 0)
            window = new[] { 2 }; // Keras's default pool_size (2, 2)
        double rate = kind switch
        {
            LayerKind.Dropout => args.Length > 0 && args[0].Value is double d ? d : 0,
            LayerKind.LeakyReLU => named.TryGetValue("Alpha", out var a) && a.Value is double alpha ? alpha : 0.3,
            _ => 0,
        };
        bool useBias = !named.TryGetValue("UseBias", out var bias) || bias.Value is not false;

        return new LayerSpec(
            kind,
            OptionalText("Name"),
            location,
            size,
            window.ToEquatableArray(),
            Ints("Strides", kind == LayerKind.Conv2D ? new[] { 1 } : Array.Empty<int>()).ToEquatableArray(),
            Text("Padding", "valid"),
            Text("Activation", "linear"),
            useBias,
            Text("KernelInitializer", "glorot_uniform"),
            Text("BiasInitializer", "zeros"),
            OptionalText("KernelRegularizer"),
            OptionalText("BiasRegularizer"),
            OptionalText("KernelConstraint"),
            OptionalText("BiasConstraint"),
            rate,
            Text("AlphaInitializer", "zeros"),
            OptionalText("AlphaRegularizer"),
            OptionalText("AlphaConstraint"),
            Ints("SharedAxes", Array.Empty<int>()).ToEquatableArray());
    }

    private static int[] IntArray(TypedConstant constant) =>
        constant.Kind == TypedConstantKind.Array && !constant.IsNull
            ? constant.Values.Select(v => v.Value is int i ? i : 0).ToArray()
            : constant.Value is int single ? new[] { single } : Array.Empty<int>();
}

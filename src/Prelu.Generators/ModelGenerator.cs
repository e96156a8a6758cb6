using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Prelu.Generators.Model;

namespace Prelu.Generators;

/// <summary>
/// Turns a partial class annotated with [InputShape] and layer attributes into a statically-shaped
/// model: shapes as constants, one parameter arena, one planned activation arena, forward and backward
/// as straight-line kernel calls. The pipeline only: parsing (<c>.Parse.cs</c>), the model and its
/// checks (<c>.Build.cs</c>) and emission (<c>.Emit.cs</c>) meet only through the records in Model/.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class ModelGenerator : IIncrementalGenerator
{
    public const string InputShapeAttribute = "Prelu.InputShapeAttribute";

    /// <summary>Tracking names of the pipeline's steps, for the incrementality tests.</summary>
    public static class Steps
    {
        public const string Parse = nameof(Parse);
        public const string Build = nameof(Build);
        public const string MissingInputShape = nameof(MissingInputShape);
    }

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(InputShapeAttribute,
                predicate: static (node, _) => node is ClassDeclarationSyntax,
                transform: static (ctx, ct) => Parse(ctx, ct))
            .WithTrackingName(Steps.Parse);

        var built = parsed
            .Select(static (result, ct) => Build(result, ct))
            .WithTrackingName(Steps.Build);

        context.RegisterSourceOutput(built, static (spc, result) =>
        {
            foreach (var diagnostic in result.Diagnostics)
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (result.Plan is { } plan)
                spc.AddSource($"{(plan.Namespace is null ? "" : plan.Namespace + ".")}{plan.ClassName}.g.cs", Emit(plan));
        });

        // Layers without [InputShape]: the class is not a model yet, which deserves a word, whatever its
        // layers. One pipeline per layer attribute; a class is reported by the one of its first layer only.
        foreach (var attribute in LayerAttributes.Keys)
        {
            var missing = context.SyntaxProvider
                .ForAttributeWithMetadataName(attribute,
                    predicate: static (node, _) => node is ClassDeclarationSyntax,
                    transform: (ctx, ct) => MissingInputShape(ctx, attribute, ct))
                .Where(static diagnostic => diagnostic is not null)
                .WithTrackingName(Steps.MissingInputShape);
            context.RegisterSourceOutput(missing, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic!.ToDiagnostic()));
        }
    }

    private static DiagnosticInfo? MissingInputShape(GeneratorAttributeSyntaxContext context, string attribute, System.Threading.CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var names = type.GetAttributes().Select(a => a.AttributeClass?.ToDisplayString()).ToList();
        if (names.Contains(InputShapeAttribute) || names.FirstOrDefault(n => n is not null && LayerAttributes.ContainsKey(n)) != attribute)
            return null;
        var node = (ClassDeclarationSyntax)context.TargetNode;
        return DiagnosticInfo.Create(Diagnostics.DiagnosticDescriptors.NoInputShape, LocationInfo.From(node.Identifier.GetLocation()), type.Name);
    }
}

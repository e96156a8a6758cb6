using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Prelu.Generators.Tests;

/// <summary>
/// Edits that do not touch a model leave the generator's tracked steps Cached or Unchanged: nothing is re-emitted.
/// The Build step's output is the whole plan (parameter and state arenas, activation buffers, gradient routing,
/// typed initializers), so these tests hold all of it to value equality; the model has a layer of each kind of tensor.
/// </summary>
public sealed class IncrementalityTests
{
    private const string Model = """
        using Prelu;
        namespace Users;
        [InputShape(28, 28, 1)]
        [Conv2D(8, 3, UseBias = false, KernelConstraint = "max_norm(2)")]
        [BatchNormalization(GammaRegularizer = "l2(0.01)")]
        [PReLU]
        [MaxPooling2D(2)]
        [Dropout(0.25)]
        [Flatten]
        [Dense(16, Activation = "gelu")]
        [Dense(10, Activation = "softmax")]
        public partial class Net;
        """;

    private const string Other = "namespace Users; public static class Helpers { public static int Two() => 2; }";

    [Fact]
    public void A_comment_after_the_model_leaves_every_step_cached_or_unchanged()
    {
        var compilation = GeneratorDriverHarness.Compilation(Model, Other);
        var driver = GeneratorDriverHarness.Driver().RunGenerators(compilation);

        var tree = compilation.SyntaxTrees.First();
        var edited = compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().WithChanges(
            new Microsoft.CodeAnalysis.Text.TextChange(new Microsoft.CodeAnalysis.Text.TextSpan(tree.Length, 0), "\n// a comment that changes nothing\n"))));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        AssertNothingRebuilt(result);
    }

    [Fact]
    public void An_edit_to_another_file_leaves_every_step_cached_or_unchanged()
    {
        var compilation = GeneratorDriverHarness.Compilation(Model, Other);
        var driver = GeneratorDriverHarness.Driver().RunGenerators(compilation);

        var other = compilation.SyntaxTrees.Last();
        var edited = compilation.ReplaceSyntaxTree(other,
            CSharpSyntaxTree.ParseText(Other.Replace("=> 2", "=> 1 + 1", StringComparison.Ordinal), GeneratorDriverHarness.ParseOptions, other.FilePath));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        AssertNothingRebuilt(result);
    }

    [Fact]
    public void Changing_a_layer_rebuilds_the_model()
    {
        var compilation = GeneratorDriverHarness.Compilation(Model, Other);
        var driver = GeneratorDriverHarness.Driver().RunGenerators(compilation);

        var tree = compilation.SyntaxTrees.First();
        var edited = compilation.ReplaceSyntaxTree(tree,
            CSharpSyntaxTree.ParseText(Model.Replace("Conv2D(8, 3,", "Conv2D(16, 3,", StringComparison.Ordinal), GeneratorDriverHarness.ParseOptions, tree.FilePath));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        Assert.Contains(result.TrackedSteps[ModelGenerator.Steps.Build].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("public const int ParameterArenaLength", result.GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }

    private static void AssertNothingRebuilt(GeneratorRunResult result)
    {
        foreach (var name in new[] { ModelGenerator.Steps.Parse, ModelGenerator.Steps.Build })
        {
            Assert.True(result.TrackedSteps.ContainsKey(name), $"step {name} was not tracked");
            var reasons = result.TrackedSteps[name].SelectMany(step => step.Outputs).Select(output => output.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, reason => Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"step {name} ran with reason {reason}"));
        }
    }
}

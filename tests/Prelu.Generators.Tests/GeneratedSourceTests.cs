using Microsoft.CodeAnalysis;
using Prelu.Tests.Shared;

namespace Prelu.Generators.Tests;

/// <summary>
/// The generator run in this process on Models.cs writes, byte for byte, the sources the compiler
/// generated into this assembly at build time: the code that the behaviour tests (gradients, training,
/// summaries) run. So every change to what the generator writes, not only to its diagnostics, is seen
/// by those tests; a mutation-testing run, which swaps in a changed generator after the build, relies on it.
/// </summary>
public sealed class GeneratedSourceTests
{
    [Fact]
    public void The_generator_writes_exactly_the_models_compiled_into_this_assembly()
    {
        var root = Readme.RepositoryRoot();
        var models = File.ReadAllText(Path.Combine(root, "tests/Shared/Models.cs"));
        var built = Path.Combine(root, "tests/Prelu.Generators.Tests/obj/generated/Prelu.Generators/Prelu.Generators.ModelGenerator");

        var compilation = GeneratorDriverHarness.Compilation(models);
        var run = GeneratorDriverHarness.Driver().RunGenerators(compilation).GetRunResult();
        var generated = run.Results.Single().GeneratedSources;

        Assert.Empty(run.Diagnostics);
        Assert.Equal(TestModels.All.Length + TestModels.HandChecked.Length + TestModels.Examples.Length, generated.Length);
        Assert.Equal(Directory.GetFiles(built, "*.g.cs").Select(Path.GetFileName).Order(), generated.Select(s => s.HintName).Order());
        foreach (var source in generated)
        {
            var expected = File.ReadAllText(Path.Combine(built, source.HintName)).TrimStart('\uFEFF').ReplaceLineEndings("\n");
            Assert.Equal(expected, source.SourceText.ToString().ReplaceLineEndings("\n"));
        }
    }
}

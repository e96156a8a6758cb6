using Prelu.Tests.Shared;

namespace Prelu.Generators.Tests;

/// <summary>The README's declared model is the one these tests generate, and its excerpt of generated code is what the generator writes.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public void The_declared_model_in_the_readme_is_the_tested_one() =>
        Readme.AssertContainsRegions("tests/Shared/Models.cs");

    [Fact]
    public void The_generated_excerpt_in_the_readme_is_what_the_generator_writes()
    {
        var readme = Readme.Text();
        const string start = "<!-- generated excerpt: StudyModel -->";
        int from = readme.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"README.md has no '{start}' marker");
        int open = readme.IndexOf("```csharp\n", from, StringComparison.Ordinal) + "```csharp\n".Length;
        int close = readme.IndexOf("```", open, StringComparison.Ordinal);
        var excerpt = readme[open..close].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l != "...").ToList();

        var model = Readme.Regions("tests/Shared/Models.cs").Single(r => r.Name == "study-model").Code;
        var (diagnostics, sources, _) = GeneratorDriverHarness.Run("using Prelu;\n" + model);
        Assert.Empty(diagnostics);
        var generated = sources.Single().Split('\n').Select(l => l.Trim()).ToList();

        // Each excerpt line must be written, and after the one before it: "..." skips lines, never reorders them.
        Assert.NotEmpty(excerpt);
        int at = -1;
        foreach (var line in excerpt)
        {
            int found = generated.IndexOf(line, at + 1);
            Assert.True(found >= 0, generated.Contains(line)
                ? $"the generator writes this README line before the one the README puts above it: {line}"
                : $"the generator does not write this README line: {line}");
            at = found;
        }
    }
}

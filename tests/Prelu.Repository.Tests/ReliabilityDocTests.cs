using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Repository.Tests;

/// <summary>
/// docs/reliability.md names, for every fault and bad input, the tests that check it: each named class (and
/// method, where one is named, up to a trailing "..." or "*") must exist in tests/, so that the table cannot
/// outlive a renamed or deleted test.
/// </summary>
public sealed partial class ReliabilityDocTests
{
    [Fact]
    public void Every_test_the_table_names_exists()
    {
        string root = Readme.RepositoryRoot();
        var doc = File.ReadAllLines(Path.Combine(root, "docs", "reliability.md"));
        string tests = string.Join("\n", Directory.GetFiles(Path.Combine(root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText));
        var named = doc.Where(line => line.StartsWith('|'))
            .Select(line => line.TrimEnd('|', ' ').Split('|')[^1])
            .SelectMany(cell => TestName().Matches(cell).Select(m => m.Groups[1].Value))
            .Distinct().ToList();

        Assert.True(named.Count >= 20, $"only {named.Count} test names found in docs/reliability.md");
        foreach (var name in named)
        {
            var parts = name.TrimEnd('.', '*').Split('.');
            Assert.True(Regex.IsMatch(tests, $@"class {Regex.Escape(parts[0])}\b"), $"docs/reliability.md names {name}: no test class {parts[0]}");
            if (parts.Length > 1)
                Assert.True(tests.Contains($"void {parts[1]}", StringComparison.Ordinal) || tests.Contains($"Task {parts[1]}", StringComparison.Ordinal),
                    $"docs/reliability.md names {name}: no test method starting {parts[1]}");
        }
    }

    // `ClassName`, `ClassName.Method_prefix...`, `ClassName.PRELU002_*`, but not `--resume` or `Prelu.Mnist.Tests`.
    [GeneratedRegex(@"`([A-Z][A-Za-z]+Tests(?:\.[A-Za-z0-9_]+(?:\.\.\.|\*)?)?)`")]
    private static partial Regex TestName();
}

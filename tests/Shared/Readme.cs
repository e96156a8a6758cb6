using System.Text.RegularExpressions;

namespace Prelu.Tests.Shared;

/// <summary>
/// Keeps README.md honest: its C# examples are regions ("#region readme: name") of test files that the
/// tests compile and run; these helpers check that the README holds each region exactly as written.
/// </summary>
public static partial class Readme
{
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Prelu.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no Prelu.sln above {AppContext.BaseDirectory}");
    }

    public static string Text() => File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")).ReplaceLineEndings("\n");

    /// <summary>Every "#region readme:" of <paramref name="relativePath"/> (from the repository root), dedented.</summary>
    public static IReadOnlyList<(string Name, string Code)> Regions(string relativePath)
    {
        var source = File.ReadAllText(Path.Combine(RepositoryRoot(), relativePath)).ReplaceLineEndings("\n");
        return Region().Matches(source).Select(m => (m.Groups["name"].Value, Dedent(m.Groups["body"].Value))).ToList();
    }

    public static void AssertContainsRegions(string relativePath)
    {
        // Blank lines are left out on both sides: a region's are (see Dedent), and a whole file in the README keeps its own.
        var readme = string.Join('\n', Text().Split('\n').Where(line => line.Trim().Length > 0));
        var regions = Regions(relativePath);
        Assert.NotEmpty(regions);
        foreach (var (name, code) in regions)
            Assert.True(readme.Contains(code, StringComparison.Ordinal), $"README.md lacks the example '{name}' as written in {relativePath}:\n{code}");
    }

    private static string Dedent(string body)
    {
        var lines = body.Split('\n').Where(line => line.Trim().Length > 0).ToList();
        int indent = lines.Min(line => line.Length - line.TrimStart().Length);
        return string.Join('\n', lines.Select(line => line[indent..]));
    }

    [GeneratedRegex(@"#region readme: (?<name>[\w-]+)\n(?<body>.*?)\n\s*#endregion", RegexOptions.Singleline)]
    private static partial Regex Region();
}

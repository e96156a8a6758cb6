using System.Text.RegularExpressions;
using Prelu.Data;
using Prelu.Runtime.Tests.Data;

namespace Prelu.Runtime.Tests;

/// <summary>
/// Keeps README.md honest: each C# example in it is the body of a region in this file, which the tests
/// compile and run. Change the example here and paste it into the README (the test says where).
/// </summary>
[Collection(RealMnistCollection.Name)]
public sealed partial class ReadmeTests
{
    [Fact]
    public async Task Loading_mnist()
    {
        #region readme: loading-mnist
        var mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());
        var (train, validation) = mnist.Train.SplitValidation(0.2); // Keras's validation_split: the last 20%
        var pixels = new float[250 * train.PixelsPerImage];        // (250, 28, 28, 1), float32 in [0, 1]
        var labels = new float[250 * train.ClassCount];            // (250, 10), one-hot
        train.GatherBatch(Enumerable.Range(0, 250).ToArray(), pixels, labels);
        #endregion

        Assert.Equal(48_000, train.Count);
        Assert.Equal(12_000, validation.Count);
        Assert.Equal(250f, labels.Sum());
        Assert.InRange(pixels.Max(), 0.99f, 1f);
    }

    [Fact]
    public void Every_readme_example_is_a_region_of_this_file()
    {
        var root = RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var source = File.ReadAllText(Path.Combine(root, "tests", "Prelu.Runtime.Tests", "ReadmeTests.cs"));

        var regions = Region().Matches(source);
        Assert.NotEmpty(regions);
        foreach (Match region in regions)
        {
            var example = Dedent(region.Groups["body"].Value);
            Assert.True(readme.Contains(example, StringComparison.Ordinal),
                $"README.md lacks the example '{region.Groups["name"].Value}' as written in ReadmeTests.cs:\n{example}");
        }
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Prelu.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no Prelu.sln above {AppContext.BaseDirectory}");
    }

    private static string Dedent(string body)
    {
        var lines = body.Replace("\r", "", StringComparison.Ordinal).Split('\n').Where(line => line.Trim().Length > 0).ToList();
        int indent = lines.Min(line => line.Length - line.TrimStart().Length);
        return string.Join('\n', lines.Select(line => line[indent..]));
    }

    [GeneratedRegex(@"#region readme: (?<name>[\w-]+)\r?\n(?<body>.*?)\r?\n\s*#endregion", RegexOptions.Singleline)]
    private static partial Regex Region();
}

using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Repository.Tests;

/// <summary>
/// docs/benchmarks.md is the output of `benchmarks/run`, never edited by hand: it says so, it has a table
/// for every Perf_ class in benchmarks/Prelu.Benchmarks (a new area that the run leaves out fails here), a
/// row for every backend, and the plots it links are in the repository.
/// </summary>
public sealed partial class BenchmarksDocTests
{
    private static readonly string Root = Readme.RepositoryRoot();
    private static readonly string Doc = File.ReadAllText(Path.Combine(Root, "docs", "benchmarks.md")).ReplaceLineEndings("\n");

    [Fact]
    public void It_is_written_by_benchmarks_run()
    {
        Assert.StartsWith("# Benchmarks\n\nWritten by `benchmarks/run", Doc, StringComparison.Ordinal);
        Assert.Contains("peak float32 FMA avx2", Doc, StringComparison.Ordinal);
        Assert.Contains("managed peak Vector256", Doc, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_benchmark_area_has_its_results()
    {
        var areas = Directory.GetFiles(Path.Combine(Root, "benchmarks", "Prelu.Benchmarks"), "Perf_*.cs")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(name => name != "Perf_MnistLoading") // data loading has no backends; docs/performance.md has it
            .ToList();
        Assert.NotEmpty(areas);
        foreach (var area in areas)
            Assert.Matches($@"(### {area}\n|`{area}`: )", Doc);
    }

    [Fact]
    public void The_step_table_has_every_backend_and_both_activations()
    {
        foreach (var backend in new[] { "managed scalar", "managed SIMD", "native (C)", "OpenCL" })
        {
            foreach (var activation in new[] { "relu", "prelu" })
                Assert.Matches($@"\| {Regex.Escape(backend)} \| {activation} \| [\d,.]+ ms \| [\d,]+ \|", Doc);
        }
    }

    [Fact]
    public void No_rate_is_printed_as_a_share_of_the_peak_it_can_exceed()
    {
        // The step's FLOPs are dense-equivalent (the C library executes fewer): a rate, named so, never a share of the peak.
        Assert.DoesNotContain("share of peak", Doc, StringComparison.Ordinal);
        Assert.Contains("| dense-equivalent GFLOP/s |", Doc, StringComparison.Ordinal);
        Assert.Contains("is no share of the peak and may exceed it", Doc, StringComparison.Ordinal);
    }

    [Fact]
    public void The_plots_it_links_are_in_the_repository()
    {
        var links = ImageLink().Matches(Doc).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["benchmarks-step.png", "benchmarks-scaling.png"], links);
        foreach (var link in links)
            Assert.True(File.Exists(Path.Combine(Root, "docs", link)), $"docs/{link} is missing: run benchmarks/run");
    }

    [GeneratedRegex(@"!\[[^\]]*\]\(([^)]+)\)")]
    private static partial Regex ImageLink();
}

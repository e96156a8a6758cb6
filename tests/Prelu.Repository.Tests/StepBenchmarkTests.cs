using System.Globalization;
using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Repository.Tests;

/// <summary>
/// `Prelu.Benchmarks step`, as docs/performance.md uses it: the probe's peak measured in the same run and each
/// model's share of it, the per-layer breakdown of the C library, and --kernels choosing the build it times.
/// Nothing here asserts a speed; the figures only have to be there and be read from a real run.
/// </summary>
public sealed class StepBenchmarkTests
{
    // A share of the probe's peak, or (when load slowed the probe below a kernel's rate) the sentence that says there is none.
    private const string Share = @"\d+% of the 1-thread peak|above the 1-thread peak measured in this run: the probe was slowed, so no share";

    // The benchmarks are built with the solution in the same configuration as these tests.
    private static string Benchmarks()
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string benchmarks = Path.Combine(Readme.RepositoryRoot(), "benchmarks", "Prelu.Benchmarks", "bin", configuration, "net10.0", "Prelu.Benchmarks.dll");
        Assert.True(File.Exists(benchmarks), $"{benchmarks} is not built: build Prelu.sln (scripts/test does)");
        return benchmarks;
    }

    [Fact]
    public void Step_help_lists_its_options_and_runs_nothing()
    {
        var (code, output) = ChildProcess.Run("dotnet", null, [Benchmarks(), "step", "--help"]);
        Assert.True(code == 0, output);
        foreach (var option in new[] { "--backend", "--models", "--threads", "--steps", "--run-length", "--breakdown", "--breakdown-steps", "--kernels", "--peak-iterations" })
            Assert.Contains(option, output, StringComparison.Ordinal);
        Assert.DoesNotContain("ms per step", output, StringComparison.Ordinal);
        Assert.DoesNotContain("peak float32", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--stepz", "3", "--stepz")] // a mistyped option once ran the default steps without a word
    [InlineData("--steps", "many", "many")]
    [InlineData("--models", "relu,sigmoid-net", "unknown run 'sigmoid-net'")]
    [InlineData("--backend", "cuda", "unknown backend 'cuda'")]
    [InlineData("--kernels", "avx1024", "avx1024")]
    [InlineData("--run-length", "0", "--run-length must be 1 or more")]
    public void Step_refuses_what_it_does_not_know_naming_it_before_timing_anything(string option, string value, string named)
    {
        var (code, output) = ChildProcess.Run("dotnet", null, [Benchmarks(), "step", option, value]);
        Assert.True(code != 0, output);
        Assert.Contains(named, output, StringComparison.Ordinal);
        Assert.DoesNotContain("ms per step", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Step_rounds_run_in_fresh_processes_and_are_summarised_model_by_model()
    {
        bool avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        var (code, output) = ChildProcess.Run("dotnet", null,
            [Benchmarks(), "step", "--models", "relu,prelu", "--steps", "2", "--threads", "1", "--rounds", "2", "--kernels", avx2 ? "avx2" : "portable",
                "--peak-iterations", "10000000"]);
        Assert.True(code == 0, output);
        Assert.Contains("== round 1 of 2", output, StringComparison.Ordinal);
        Assert.Contains("== round 2 of 2", output, StringComparison.Ordinal);
        // Each round is a whole run of its own (its own probe and models), and the summary has one figure a round.
        Assert.Equal(2, Regex.Count(output, @"prelu native: native \("));
        var summary = Regex.Match(output, @"prelu native prelu against relu, by the medians: (?<one>[+-]?[\d.]+)%, (?<two>[+-]?[\d.]+)% \(median (?<median>[+-]?[\d.]+)%\); " +
            @"turn by turn: [+-]?[\d.]+%, [+-]?[\d.]+% \(median [+-]?[\d.]+%\)");
        Assert.True(summary.Success, output);
        // The median of two rounds is their mean (to the printed rounding).
        double one = double.Parse(summary.Groups["one"].Value, CultureInfo.InvariantCulture), two = double.Parse(summary.Groups["two"].Value, CultureInfo.InvariantCulture);
        Assert.InRange(double.Parse(summary.Groups["median"].Value, CultureInfo.InvariantCulture), (one + two) / 2 - 0.1, (one + two) / 2 + 0.1);
    }

    [Fact]
    public void Step_prints_the_peak_of_the_same_run_the_share_of_each_model_and_every_layer_of_the_C_library()
    {
        string benchmarks = Benchmarks();

        // A build other than the best where the CPU has one (the portable C kernels take a minute for these steps).
        bool avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        var (code, output) = ChildProcess.Run("dotnet", null,
            [benchmarks, "step", "--models", "relu,prelu,prelu-channel,resnet-relu", "--steps", "2", "--threads", "1", "--breakdown",
                "--breakdown-steps", "3", "--kernels", avx2 ? "avx2" : "portable", "--peak-iterations", "10000000"]);

        Assert.True(code == 0, output);
        Assert.Contains($"{(avx2 ? "AVX2/FMA" : "portable C")} kernels, 1 thread(s)", output, StringComparison.Ordinal);
        Assert.Matches(@"peak float32 FMA \w+ \(\d+ chains of \d+ lanes\), 1 thread: [\d.]+ GFLOP/s", output);
        Assert.Contains("batch 250, the models in turn 5 steps at a time, the first of each run not counted", output, StringComparison.Ordinal);
        foreach (var run in new[] { "relu", "prelu", "prelu-channel" })
        {
            Assert.Matches($@"prelu native {run}: \d+ dense-equivalent GFLOP/s \(the 4.16 GFLOP a direct computation of the step takes, per second; " +
                @"the kernels execute fewer\), beside the 1-thread peak of [\d.]+ GFLOP/s \(\w+, measured by prelu_fma_peak in this run\)", output);
            // The step's executed FLOPs, as the C kernels report them, and their rate's share of the peak.
            var step = Regex.Match(output, $@"prelu {run}: [\d.]+ ms per step, [\d,]+ images/s, (?<gflop>[\d.]+) GFLOP executed per step, \d+ GFLOP/s " +
                $@"\((?:{Share})\), \d+ dense-equivalent GFLOP/s");
            Assert.True(step.Success, $"no executed FLOPs for {run} in:\n{output}");
            // The Winograd transforms and the pooling's winners execute fewer than the 4.16 GFLOP a direct computation takes.
            double executed = double.Parse(step.Groups["gflop"].Value, CultureInfo.InvariantCulture);
            Assert.InRange(executed, 0.5, 4.0);
            // The executed count of the step is the sum of what each layer's kernels reported.
            var layers = Regex.Match(output, $@"native layers, {run} \([\d.]+ ms per step in kernels, the sum of each layer's median over 3 steps; " +
                @"(?<sum>[\d.]+) GFLOP executed, the sum of the layers', against (?<step>[\d.]+) GFLOP counted over the whole step");
            Assert.True(layers.Success, $"no layer breakdown for {run} in:\n{output}");
            Assert.Equal(layers.Groups["step"].Value, layers.Groups["sum"].Value);
            // The step's line prints three decimals, the breakdown's four: they agree to half a unit of the third (1.631 beside
            // 1.6315 is the same count; rounding both to three places would split it at the midpoint).
            double counted = double.Parse(layers.Groups["step"].Value, CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(executed - counted) <= 0.0005 + 1e-9, $"{run}: {executed} GFLOP executed per step against {counted} counted by the layers");
            // Each model against the first twice: the ratio of the medians, and turn by turn (the median of each turn's ratio).
            Assert.Matches($@"prelu {run}: [^\n]* [+-]?[\d.]+% against relu; turn by turn [+-]?[\d.]+% \(the median over \d+ turns? of its run's " +
                @"median step against relu's\)", output);
        }
        foreach (var layer in new[]
        {
            "conv2d + maxpool forward 28x28x1 -> 26x26x32 -> 13x13x32", "conv2d + maxpool backward 28x28x1 -> 26x26x32 -> 13x13x32",
            "conv2d + maxpool forward 13x13x32 -> 11x11x64 -> 5x5x64", "conv2d + maxpool backward 13x13x32 -> 11x11x64 -> 5x5x64", "dense forward 1600 -> 256",
            "dense backward 1600 -> 256", "dense forward 256 -> 10", "categorical_crossentropy", "adam",
        })
            Assert.Contains(layer, output, StringComparison.Ordinal);
        // Layers of one shape share a line, which says how many calls it sums: the residual network's five 7 x 7 x 64
        // convolutions (one in its second block, two in each of its third and fourth); a shape of one layer says nothing. A
        // window or stride other than 3x3 and 1 is named: its stride-2 convolution and its 1x1 projection map the same shapes.
        Assert.Matches(@"conv2d forward 7x7x64 -> 7x7x64, linear, 5 calls +[\d.]+ ms", output);
        Assert.Matches(@"conv2d forward 14x14x32 -> 7x7x64, 3x3 stride 2, linear +[\d.]+ ms", output);
        Assert.Matches(@"conv2d backward 14x14x32 -> 7x7x64, 1x1 stride 2, linear +[\d.]+ ms", output);
        Assert.Matches(@"conv2d \+ maxpool backward 13x13x32 -> 11x11x64 -> 5x5x64, prelu PerElement, dropout +[\d.]+ ms +\d+ % +\d+ GFLOP/s executed " +
            $@"\((?:{Share})\), \d+ dense-equivalent GFLOP/s", output);
        // Every share printed is of the FLOPs executed, and none exceeds the peak; the dense-equivalent rates (which can)
        // are never given as a share.
        var shares = Regex.Matches(output, @"(?<share>\d+)% of the \d+-thread peak").Select(m => int.Parse(m.Groups["share"].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.True(shares.Count >= 12, output);
        Assert.All(shares, share => Assert.InRange(share, 0, 100));
        Assert.DoesNotMatch(@"dense-equivalent GFLOP/s \(\d+%", output);
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// The pooled convolution's activation probe (benchmarks/probe/pool_activation_timing.c, built with the C library) gives
/// docs/performance.md its per-element PReLU figures: it must run as the docs show it, time every activation's forward
/// and backward, set each PReLU against ReLU as its own figures say, and refuse sizes it cannot time with a message. No
/// time is asserted.
/// </summary>
public sealed partial class PoolActivationTimingProbeTests
{
    private static readonly string Probe = Path.Combine(Readme.RepositoryRoot(), "artifacts", "native", "prelu_pool_activation_timing");

    [Theory]
    [InlineData("1")] // a first layer: no input gradient
    [InlineData("3")]
    public void It_times_each_activation_and_sets_the_prelus_against_relu(string inChannels)
    {
        Assert.True(File.Exists(Probe), $"{Probe} is missing: `dotnet build` builds it with the C library (cmake)");
        var (code, output) = ChildProcess.Run(Probe, null, ["3", "10", inChannels, "12", "1", "4"]);
        Assert.True(code == 0, output);
        var line = Line().Match(output);
        Assert.True(line.Success, output);
        Assert.Equal($"10x10x{inChannels} -> 12", line.Groups["shape"].Value);
        foreach (var part in new[] { "forward", "backward" })
        {
            double Ms(string name) => double.Parse(line.Groups[$"{part}_{name}"].Value, CultureInfo.InvariantCulture);
            double Percent(string name) => double.Parse(line.Groups[$"{part}_{name}_against"].Value, CultureInfo.InvariantCulture);
            Assert.True(Ms("relu") > 0 && Ms("prelu") > 0 && Ms("channel") > 0, output);
            // Each percentage is the ratio of the times behind the printed ones (each rounded to 0.0005 ms), itself rounded
            // to 0.05 points.
            const double time = 0.0005, point = 0.05;
            foreach (var name in new[] { "prelu", "channel" })
            {
                double lowest = ((Ms(name) - time) / (Ms("relu") + time) - 1) * 100, highest = ((Ms(name) + time) / (Ms("relu") - time) - 1) * 100;
                Assert.InRange(Percent(name), lowest - point, highest + point);
            }
        }
    }

    [Fact]
    public void It_refuses_sizes_it_cannot_time_with_the_reason()
    {
        Assert.True(File.Exists(Probe), $"{Probe} is missing: `dotnet build` builds it with the C library (cmake)");
        var (code, output) = ChildProcess.Run(Probe, null, ["2", "3", "1", "4", "1"]);
        Assert.Equal(2, code);
        Assert.Contains("SIZE at least 4", output);
        (code, output) = ChildProcess.Run(Probe, null, ["2", "8"]);
        Assert.Equal(2, code);
        Assert.Contains("usage: prelu_pool_activation_timing", output);
    }

    [GeneratedRegex(@"^(?<shape>\d+x\d+x\d+ -> \d+), 2x2 max pooling, batch 3, 1 thread\(s\), medians of 4 calls each, the activations taking turns: " +
                    @"forward relu (?<forward_relu>[\d.]+) ms, prelu (?<forward_prelu>[\d.]+) ms \((?<forward_prelu_against>[+-][\d.]+)%\), " +
                    @"prelu-channel (?<forward_channel>[\d.]+) ms \((?<forward_channel_against>[+-][\d.]+)%\); " +
                    @"backward relu (?<backward_relu>[\d.]+) ms, prelu (?<backward_prelu>[\d.]+) ms \((?<backward_prelu_against>[+-][\d.]+)%\), " +
                    @"prelu-channel (?<backward_channel>[\d.]+) ms \((?<backward_channel_against>[+-][\d.]+)%\)$", RegexOptions.Multiline)]
    private static partial Regex Line();
}

using System.Globalization;
using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// The convolution timing probe (benchmarks/probe/conv_timing.c, built with the C library) gives docs/performance.md its
/// per-convolution figures: it must run as the docs show it, count the work each part executes, and refuse sizes it
/// cannot time with a message. No time is asserted.
/// </summary>
public sealed partial class ConvTimingProbeTests
{
    private static readonly string Probe = Path.Combine(Readme.RepositoryRoot(), "artifacts", "native", "prelu_conv_timing");

    [Fact]
    public void It_times_the_forward_and_both_gradients_and_counts_their_flops()
    {
        Assert.True(File.Exists(Probe), $"{Probe} is missing: `dotnet build` builds it with the C library (cmake)");
        var (code, output) = ChildProcess.Run(Probe, null, ["3", "8", "8", "16", "16", "1", "1", "2"]);
        Assert.True(code == 0, output);
        var line = Line().Match(output);
        Assert.True(line.Success, output);
        double Gflop(string part) => double.Parse(line.Groups[part].Value, CultureInfo.InvariantCulture);
        // 3 images of 8 x 8 outputs, 16 x 16 channels, 3x3: a direct product is 3 * 64 * 16 * 16 * 9 * 2 flops. Each part
        // counts work, and where the AVX-512 build takes Winograd's transforms, less than that (their products and
        // transforms together); elsewhere the direct product exactly.
        const double direct = 3 * 64 * 16 * 16 * 9 * 2 / 1e9;
        foreach (var part in new[] { "forward", "input", "kernel" })
            Assert.InRange(Gflop(part), direct / 4, direct * 1.0001);
    }

    [Fact]
    public void It_refuses_sizes_it_cannot_time_with_the_reason()
    {
        Assert.True(File.Exists(Probe), $"{Probe} is missing: `dotnet build` builds it with the C library (cmake)");
        var (code, output) = ChildProcess.Run(Probe, null, ["2", "1", "1", "1", "1", "0", "1"]);
        Assert.Equal(2, code);
        Assert.Contains("the padded map at least 3x3", output);
        (code, output) = ChildProcess.Run(Probe, null, ["2", "8"]);
        Assert.Equal(2, code);
        Assert.Contains("usage: prelu_conv_timing", output);
    }

    [GeneratedRegex(@"^8x8x16 -> 16, padding 1, batch 3, 1 thread\(s\), best of 2: forward [\d.]+ ms \((?<forward>[\d.e+-]+) GFLOP\), " +
                    @"input gradient [\d.]+ ms \((?<input>[\d.e+-]+) GFLOP\), kernel gradient [\d.]+ ms \((?<kernel>[\d.e+-]+) GFLOP\)$", RegexOptions.Multiline)]
    private static partial Regex Line();
}

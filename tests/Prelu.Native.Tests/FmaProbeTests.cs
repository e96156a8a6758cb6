using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Native.Tests;

/// <summary>
/// The peak probe (benchmarks/probe/fma_peak.c) is the denominator of every efficiency figure, so the work
/// it counts must be the work that runs. A compiler that merged its chains would leave fewer FMAs in the
/// timed loop than the probe multiplies by (an earlier version ran one FMA where it counted twelve). This
/// reads the loop the compiler wrote, without timing anything: one FMA per chain, each on its own register,
/// none reading memory, at the vector width the probe counts.
/// </summary>
public sealed partial class FmaProbeTests
{
    private static readonly string Probe = Path.Combine(Readme.RepositoryRoot(), "artifacts", "native", "prelu_fma_peak");

    public static TheoryData<string> Variants => new() { "fma_chains_avx2", "fma_chains_avx512" };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Each_timed_loop_runs_one_register_fma_per_counted_chain(string function)
    {
        Assert.True(File.Exists(Probe), $"{Probe} is missing: `dotnet build` builds it with the C library (cmake, x86-64 only)");
        var (chains, lanes) = CountedShape(function);
        var loop = TimedLoop(Disassemble(function), function);

        var fmas = loop.Where(line => line.Mnemonic.StartsWith("vfmadd", StringComparison.Ordinal)).ToList();
        Assert.True(chains == fmas.Count, $"{function}: the probe counts {chains} chains, its loop holds {fmas.Count} FMAs:\n{string.Join('\n', loop.Select(l => l.Text))}");
        Assert.All(fmas, fma => Assert.EndsWith("ps", fma.Mnemonic, StringComparison.Ordinal)); // packed, not scalar
        Assert.All(fmas, fma => Assert.DoesNotContain("(", fma.Operands, StringComparison.Ordinal)); // registers only
        string register = lanes == 16 ? "%zmm" : "%ymm";
        Assert.All(fmas, fma => Assert.StartsWith(register, fma.Destination, StringComparison.Ordinal));
        Assert.Equal(chains, fmas.Select(fma => fma.Destination).Distinct().Count());
    }

    [Fact]
    public void The_loop_reader_finds_a_merged_loop_short()
    {
        // What the folded probe compiled to: one FMA counted as twelve chains.
        string[] folded =
        [
            "  1000:\tvmovaps %ymm1,%ymm0",
            "  1004:\tvfmadd132ps %ymm2,%ymm3,%ymm0",
            "  1009:\tsub    $0x1,%rax",
            "  100d:\tjne    1004 <run+0x4>",
            "  100f:\tret",
        ];
        var loop = TimedLoop(folded.Select(Parse).OfType<Instruction>().ToList(), "run");
        Assert.Single(loop, line => line.Mnemonic.StartsWith("vfmadd", StringComparison.Ordinal));
    }

    private static (int Chains, int Lanes) CountedShape(string function)
    {
        var line = Run(Probe, "--shape").Split('\n').Single(l => l.StartsWith(function + " ", StringComparison.Ordinal));
        var fields = line.Split(' ');
        return (int.Parse(fields[1], CultureInfo.InvariantCulture), int.Parse(fields[2], CultureInfo.InvariantCulture));
    }

    private sealed record Instruction(long Address, string Mnemonic, string Operands, string Text)
    {
        public string Destination => Operands.Split(',')[^1].Trim();
    }

    private static List<Instruction> Disassemble(string function)
    {
        var text = Run("objdump", "-d", "--no-show-raw-insn", Probe);
        int start = text.IndexOf($"<{function}>:", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{function} is not in {Probe}");
        int end = text.IndexOf("\n\n", start, StringComparison.Ordinal);
        return text[start..(end < 0 ? text.Length : end)].Split('\n').Select(Parse).OfType<Instruction>().ToList();
    }

    // "  2630:\tvfmadd132ps %ymm0,%ymm1,%ymm2"
    private static Instruction? Parse(string line)
    {
        var match = InstructionLine().Match(line);
        return match.Success
            ? new Instruction(long.Parse(match.Groups["address"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                match.Groups["mnemonic"].Value, match.Groups["operands"].Value.Trim(), line.Trim())
            : null;
    }

    /// <summary>The instructions of the function's innermost backward-jumping loop: the timed one (the probe's only loop with FMAs).</summary>
    private static List<Instruction> TimedLoop(List<Instruction> code, string function)
    {
        var loops = code
            .Where(jump => jump.Mnemonic.StartsWith('j'))
            .Select(jump => (Jump: jump, Target: TargetOf(jump)))
            .Where(l => l.Target is long target && target < l.Jump.Address)
            .Select(l => code.Where(i => i.Address >= l.Target && i.Address <= l.Jump.Address).ToList())
            .Where(body => body.Any(i => i.Mnemonic.StartsWith("vfmadd", StringComparison.Ordinal)))
            .ToList();
        Assert.True(loops.Count == 1, $"{function}: expected one loop with FMAs, found {loops.Count}");
        return loops[0];
    }

    private static long? TargetOf(Instruction jump)
    {
        var match = JumpTarget().Match(jump.Operands);
        return match.Success ? long.Parse(match.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : null;
    }

    private static string Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.Result}");
        return output.Result;
    }

    [GeneratedRegex(@"^\s*(?<address>[0-9a-f]+):\s+(?<mnemonic>[a-z0-9]+)\s*(?<operands>[^#<]*)")]
    private static partial Regex InstructionLine();

    [GeneratedRegex(@"^([0-9a-f]+)")]
    private static partial Regex JumpTarget();
}

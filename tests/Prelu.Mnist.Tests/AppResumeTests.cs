using Prelu.Tests.Shared;
using System.Diagnostics;

namespace Prelu.Mnist.Tests;

/// <summary>
/// The study app stopped in the middle of an epoch, in a child process, and run again with --resume: its
/// checkpoint (weights, Adam's m, v and step, the epoch's running sums) and history end bit for bit as those
/// of a run never stopped. Killed with SIGKILL (what a crash or an out-of-memory kill does: the per-epoch
/// checkpoint is what is left), and stopped with SIGINT (Ctrl-C: the app saves where it stands and says how
/// to go on). 6,000 real MNIST images, 3 epochs, batch 50, the C kernels. The signal goes 150 ms after "Epoch 2/3": it
/// lands in epoch 2 or, where a loaded machine delays it, in epoch 3 (an epoch takes about 0.4 s here); either way the run
/// resumes to the same end. The run never stopped is made once for both tests.
/// </summary>
[Collection(MnistCollection.Name)]
public sealed class AppResumeTests(MnistFixture fixture, AppResumeTests.NeverStopped neverStopped) : IClassFixture<AppResumeTests.NeverStopped>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-app-resume-").FullName;
    private readonly MnistFixture _ = fixture; // MNIST is in its folder before the app starts

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The run the stopped ones must end as.</summary>
    public sealed class NeverStopped : AppRunMadeOnce
    {
        protected override string[] Arguments(string folder) => AppResumeTests.Arguments(folder, "whole");
    }

    private static string[] Arguments(string folder, string output) =>
        ["--runs", "prelu", "--epochs", "3", "--train-images", "6000", "--batch-size", "50", "--backend", "native",
         "--data", DataFolders.DefaultMnistFolder(), "--output", Path.Combine(folder, output)];

    private string[] Arguments(string output) => Arguments(_folder, output);

    [Fact]
    public void Killed_with_sigkill_mid_run_and_resumed_it_ends_as_a_run_never_stopped()
    {
        var expected = Finished(neverStopped.Run, neverStopped.Folder, "whole");

        using (var child = ChildProcess.Start("dotnet", null, [ChildProcess.App, .. Arguments("killed")]))
        {
            WaitForLine(child, "Epoch 2/3");
            Thread.Sleep(150);
            Assert.False(child.HasExited, "the run ended before it could be killed: give it more work");
            child.Kill(); // SIGKILL
            child.WaitForExit();
        }
        var left = SafeTensors.ReadWithMetadata(Path.Combine(_folder, "killed", "prelu.safetensors")).Metadata;
        Assert.Contains(left["trainer.epoch"], new[] { "2", "3" }); // the checkpoint of epoch 1, or of epoch 2 if the kill came late
        Assert.Equal("0", left["trainer.batch"]);

        var (code, output) = ChildProcess.RunApp([.. Arguments("killed"), "--resume"]);
        Assert.True(code == 0, output);
        Assert.Contains("Resuming from", output, StringComparison.Ordinal);
        AssertSame(expected, Finished((code, output), _folder, "killed"));
    }

    [Fact]
    public void Stopped_with_sigint_it_saves_says_how_to_resume_and_resumed_it_ends_as_a_run_never_stopped()
    {
        var expected = Finished(neverStopped.Run, neverStopped.Folder, "whole");

        string text;
        int code;
        using (var child = ChildProcess.Start("dotnet", null, [ChildProcess.App, .. Arguments("stopped")]))
        {
            WaitForLine(child, "Epoch 2/3");
            Thread.Sleep(150);
            Assert.False(child.HasExited, "the run ended before it could be stopped: give it more work");
            using (var kill = Process.Start("kill", ["-INT", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                kill.WaitForExit();
            text = child.StandardOutput.ReadToEnd() + child.StandardError.ReadToEnd();
            child.WaitForExit();
            code = child.ExitCode;
        }
        Assert.True(code == 130, $"exit code {code}: {text}");
        Assert.Contains("Stopping after the batch in flight", text, StringComparison.Ordinal);
        var stopped = System.Text.RegularExpressions.Regex.Match(text, "of epoch (?<epoch>[23]); the run so far is saved in");
        Assert.True(stopped.Success, text); // epoch 2, or 3 if the signal came late
        Assert.Contains("--output " + Path.Combine(_folder, "stopped") + " --resume", text, StringComparison.Ordinal);
        var left = SafeTensors.ReadWithMetadata(Path.Combine(_folder, "stopped", "prelu.safetensors")).Metadata;
        Assert.Equal(stopped.Groups["epoch"].Value, left["trainer.epoch"]);
        Assert.NotEqual("0", left["trainer.batch"]); // mid-epoch: where the Ctrl-C came

        var resumed = ChildProcess.RunApp([.. Arguments("stopped"), "--resume"]);
        Assert.True(resumed.Code == 0, resumed.Output);
        AssertSame(expected, Finished(resumed, _folder, "stopped"));
    }

    private sealed record Final(Dictionary<string, float[]> Tensors, string[] History, string Iterations);

    private static Final Finished((int Code, string Output) run, string folder, string output)
    {
        Assert.True(run.Code == 0, run.Output);
        var (tensors, metadata) = SafeTensors.ReadWithMetadata(Path.Combine(folder, output, "prelu.safetensors"));
        // Every figure of the history but the wall times ("epoch seconds rate name=value ...": the second and third of each line).
        var history = metadata["trainer.history"].Split('\n').Select(line => string.Join(' ', line.Split(' ').Where((_, i) => i is not (1 or 2)))).ToArray();
        return new Final(tensors.ToDictionary(t => t.Key, t => t.Value.Values), history, metadata["iterations"]);
    }

    private static void AssertSame(Final expected, Final actual)
    {
        Assert.Equal(expected.Iterations, actual.Iterations);
        Assert.Equal(expected.History, actual.History);
        Assert.Equal(expected.Tensors.Keys.Order(), actual.Tensors.Keys.Order());
        foreach (var (name, values) in expected.Tensors)
            Assert.True(values.AsSpan().SequenceEqual(actual.Tensors[name]), $"{name} differs");
    }

    internal static void WaitForLine(Process child, string text)
    {
        string? line;
        while ((line = child.StandardOutput.ReadLine()) is not null)
        {
            if (line.Contains(text, StringComparison.Ordinal))
                return;
        }
        Assert.Fail($"the app ended without printing '{text}': {child.StandardError.ReadToEnd()}");
    }
}

/// <summary>The study app's arguments: every problem listed at once, exit code 2, before anything loads.</summary>
public sealed class AppArgumentTests
{
    [Fact]
    public void Bad_arguments_are_each_named_and_nothing_runs()
    {
        var (code, error) = ChildProcess.RunApp("--epochs", "0", "--batch-size", "0", "--validation-split", "1", "--runs", "nope",
            "--backend", "cuda", "--threads", "-1", "--seeds", "1,x");

        Assert.Equal(2, code);
        foreach (var problem in new[] { "--epochs must be at least 1", "--batch-size must be at least 1", "--validation-split must be at least 0 and below 1",
            "--runs: unknown run 'nope'", "--backend must be one of auto, opencl, native, simd, managed", "--threads must be 0 (one per core) or more",
            "--seeds: 'x' in '1,x' is not a seed" })
            Assert.Contains(problem, error, StringComparison.Ordinal);
        Assert.DoesNotContain("data folder", error, StringComparison.Ordinal); // nothing loaded
    }
}

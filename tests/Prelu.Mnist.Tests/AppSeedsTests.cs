using Prelu.Tests.Shared;
using System.Text.Json;

namespace Prelu.Mnist.Tests;

/// <summary>
/// The study app with --seeds, in a child process on 300 real MNIST images: every configuration once per seed,
/// results.md with the spread, the paired differences and their sentence, results.json with every run, the
/// two plots; and a multi-seed study killed in its third run resumes there and ends as one never stopped. The study never
/// stopped is made once for both tests.
/// </summary>
[Collection(MnistCollection.Name)]
public sealed class AppSeedsTests(MnistFixture fixture, AppSeedsTests.NeverStopped neverStopped) : IClassFixture<AppSeedsTests.NeverStopped>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-app-seeds-").FullName;
    private readonly MnistFixture _ = fixture; // MNIST is in its folder before the app starts

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The multi-seed study run whole (its output in "whole").</summary>
    public sealed class NeverStopped : AppRunMadeOnce
    {
        protected override string[] Arguments(string folder) => AppSeedsTests.Arguments(folder, "whole");
    }

    private static string[] Arguments(string folder, string output) =>
        ["--runs", "relu", "prelu", "--seeds", "2", "--epochs", "2", "--train-images", "300", "--batch-size", "50", "--backend", "native",
         "--data", DataFolders.DefaultMnistFolder(), "--output", Path.Combine(folder, output)];

    private string[] Arguments(string output) => Arguments(_folder, output);

    [Fact]
    public void Every_configuration_runs_once_per_seed_and_the_report_compares_them_seed_by_seed()
    {
        var (code, output) = neverStopped.Run;

        Assert.True(code == 0, output);
        string folder = Path.Combine(neverStopped.Folder, "whole");
        foreach (var file in new[] { "relu-seed1", "prelu-seed1", "relu-seed2", "prelu-seed2" })
        {
            Assert.True(File.Exists(Path.Combine(folder, file + ".safetensors")), file);
            Assert.True(File.Exists(Path.Combine(folder, file + ".png")), file);
        }
        foreach (var plot in new[] { "validation-accuracy.png", "test-accuracy.png" })
            Assert.True(new FileInfo(Path.Combine(folder, plot)).Length > 10_000, plot);
        Assert.Contains("== PReLU, alphas from 0 (prelu), seed 2 ==", output, StringComparison.Ordinal);

        string md = File.ReadAllText(Path.Combine(folder, "results.md"));
        Assert.Contains("seeds 1, 2. Training and evaluation took ", md, StringComparison.Ordinal);
        Assert.Contains("| run | seed | parameters |", md, StringComparison.Ordinal);
        Assert.Contains("Over the seeds (mean ± sample standard deviation", md, StringComparison.Ordinal);
        Assert.Matches(@"\| ReLU \| 2 \| 0\.\d{4} ± 0\.\d{4} \|", md);
        Assert.Matches(@"\| PReLU, alphas from 0 \| 1: [+-]\d+\.\d\d, 2: [+-]\d+\.\d\d \| [+-]\d+\.\d\d \| [+-]\d+\.\d\d to [+-]\d+\.\d\d \|", md);
        Assert.Matches(@"\*\*(No difference in test accuracy from ReLU is detectable at this sample size \(2 seeds\)|PReLU, alphas from 0 is (more|less) accurate than ReLU)", md);
        Assert.Contains("Learned PReLU coefficients per layer, over the seeds", md, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "results.json")));
        Assert.Equal([1UL, 2UL], json.RootElement.GetProperty("seeds").EnumerateArray().Select(e => e.GetUInt64()));
        var runs = json.RootElement.GetProperty("runs").EnumerateArray().Select(r => (r.GetProperty("name").GetString(), r.GetProperty("seed").GetUInt64())).ToList();
        Assert.Equal([("relu", 1UL), ("prelu", 1UL), ("relu", 2UL), ("prelu", 2UL)], runs);
        var accuracy = json.RootElement.GetProperty("comparison").GetProperty("accuracy")[0];
        Assert.Equal(2, accuracy.GetProperty("differences").GetArrayLength());
        Assert.Equal(JsonValueKind.Number, accuracy.GetProperty("low").ValueKind);
    }

    [Fact]
    public void A_multi_seed_study_killed_in_its_third_run_resumes_there_and_ends_as_one_never_stopped()
    {
        var expected = Accuracies(neverStopped.Run, neverStopped.Folder, "whole");

        using (var child = ChildProcess.Start("dotnet", null, [ChildProcess.App, .. Arguments("killed")]))
        {
            AppResumeTests.WaitForLine(child, "== ReLU (relu), seed 2 ==");
            AppResumeTests.WaitForLine(child, "Epoch 2/2");
            child.Kill(); // SIGKILL, in the third run's second epoch
            child.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(_folder, "killed", "prelu-seed2.safetensors")));

        var (code, output) = ChildProcess.RunApp([.. Arguments("killed"), "--resume"]);
        Assert.True(code == 0, output);
        foreach (var file in new[] { "relu-seed1", "prelu-seed1", "relu-seed2" })
            Assert.Contains($"Resuming from {Path.Combine(_folder, "killed", file)}.safetensors", output, StringComparison.Ordinal);
        Assert.DoesNotContain($"Resuming from {Path.Combine(_folder, "killed", "prelu-seed2")}", output, StringComparison.Ordinal);
        Assert.Equal(expected, Accuracies((code, output), _folder, "killed"));
    }

    // Each run's test loss and accuracy as results.json holds them, in order.
    private static string[] Accuracies((int Code, string Output) run, string folder, string output)
    {
        Assert.True(run.Code == 0, run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, output, "results.json")));
        return json.RootElement.GetProperty("runs").EnumerateArray()
            .Select(r => $"{r.GetProperty("name").GetString()} {r.GetProperty("seed")} {r.GetProperty("test_loss")} {r.GetProperty("test_accuracy")}").ToArray();
    }
}

using Prelu.Tests.Shared;

namespace Prelu.Mnist.Tests;

/// <summary>
/// The study app on the two real tables (`--task autompg`, `--task penguins`), in a child process with few epochs:
/// each configuration once per seed, results.md with the spread, the paired difference and its sentence, the
/// regression's predicted-against-true plot; an unknown task is refused naming those there are.
/// </summary>
public sealed class AppTableTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-app-tables-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("autompg", "test mean absolute error (miles per gallon)", "lower|higher")]
    [InlineData("penguins", "test accuracy", "higher|lower")]
    public void A_table_study_runs_both_networks_once_per_seed_and_compares_them_seed_by_seed(string task, string metric, string ways)
    {
        var (code, output) = ChildProcess.RunApp(["--task", task, "--seeds", "2", "--epochs", "3", "--backend", "native", "--output", _folder]);

        Assert.True(code == 0, output);
        foreach (var run in new[] { "ReLU, seed 1", "PReLU, seed 1", "ReLU, seed 2", "PReLU, seed 2" })
            Assert.Contains($", {run}: {metric} ", output, StringComparison.Ordinal);
        string md = File.ReadAllText(Path.Combine(_folder, task, "results.md"));
        Assert.Contains($"Command: `scripts/study --task {task} --seeds 2 --epochs 3", md, StringComparison.Ordinal);
        Assert.Contains("2 seeds (1, 2), each with its own 80/20 split; 3 epochs, batches of 32", md, StringComparison.Ordinal);
        Assert.Matches(@"\| ReLU \| \d+\.\d{4} ± \d+\.\d{4} \| \d+\.\d{4} - \d+\.\d{4} \| 1: \d+\.\d{4}, 2: \d+\.\d{4} \|", md);
        Assert.Matches(@"Paired difference PReLU - ReLU, seed by seed: [+-]?\d+\.\d{4} \(95% CI [+-]?\d+\.\d{4} to [+-]?\d+\.\d{4}\)\.", md);
        Assert.Matches($@"\*\*(No difference in {metric.Replace("(", @"\(").Replace(")", @"\)")} between PReLU and ReLU is detectable|PReLU has a ({ways}) )", md);
        Assert.Equal(task == "autompg", File.Exists(Path.Combine(_folder, task, "predicted-vs-true.png")));
    }

    [Fact]
    public void An_unknown_task_is_refused_naming_the_tasks_there_are()
    {
        var (code, output) = ChildProcess.RunApp(["--task", "iris"]);
        Assert.Equal(2, code);
        Assert.Contains("--task must be mnist or one of autompg, penguins, not 'iris'", output, StringComparison.Ordinal);
    }
}

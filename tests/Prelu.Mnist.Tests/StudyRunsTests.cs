using System.Text.RegularExpressions;
using Prelu.Kernels;
using Prelu.Mnist.Models;
using Prelu.Native.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Mnist.Tests;

/// <summary>The app's runs: every one README's `--runs` paragraph names exists, and every run's model takes a training step.</summary>
public sealed partial class StudyRunsTests
{
    [GeneratedRegex(@"`--runs` also offers(?<paragraph>.*?)\n\n", RegexOptions.Singleline)]
    private static partial Regex RunsParagraph();

    [GeneratedRegex(@"`(?<name>[a-z]+(?:-[a-z0-9.]+)+)`")]
    private static partial Regex RunName();

    [Fact]
    public void Every_run_the_readme_names_is_one_of_the_apps()
    {
        var paragraph = RunsParagraph().Match(Readme.Text());
        Assert.True(paragraph.Success, "README.md has no paragraph on what `--runs` offers");
        var named = RunName().Matches(paragraph.Groups["paragraph"].Value).Select(m => m.Groups["name"].Value).ToList();
        Assert.Equal(["bn-prelu", "resnet-relu", "resnet-prelu"], named);
        foreach (var name in named)
            Assert.Equal(name, StudyRuns.Find(name).Name);
    }

    public static TheoryData<string> Runs => new(StudyRuns.All.Select(r => r.Name));

    [Theory]
    [MemberData(nameof(Runs))]
    public void Every_runs_model_takes_a_training_step_with_a_finite_loss(string name)
    {
        var run = StudyRuns.Find(name);
        using var backend = new NativeBackend();
        using var model = run.Create(backend, 2);
        model.Initialize(1);
        using var optimizer = run.CreateOptimizer();
        using var input = backend.Allocate(Det.Floats(2 * model.InputLength, 4, 0, 1));
        using var labels = backend.Allocate(Det.OneHot(2, model.OutputLength));
        using var metrics = backend.Allocate(MetricSlot.Count);
        model.ComputeGradients(input, labels, 2, 1, metrics);
        optimizer.Step(model);

        Assert.Equal(run.ModelName, model.Name);
        Assert.True(float.IsFinite(backend.ToArray(metrics)[MetricSlot.LossSum]), $"{name}: the loss is not finite");
    }
}

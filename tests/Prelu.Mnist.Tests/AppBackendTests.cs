using Prelu.Tests.Shared;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Prelu.Mnist.Tests;

/// <summary>
/// What the README says of the app's backends: `--time-steps` prints a backend's images/s, and `--backend auto`
/// times a step on the C library and on the OpenCL device, prints both times, and remembers its decision.
/// Which backend is faster is a measurement (docs/performance.md), not something these tests assert.
/// </summary>
[Collection(MnistCollection.Name)]
public sealed class AppBackendTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("prelu-app-backend-").FullName;

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private (int Code, string Output) TimeSteps(string backend) =>
        ChildProcess.Run("dotnet", null, [ChildProcess.App, "--time-steps", "--backend", backend, "--runs", "relu", "--batch-size", "32",
            "--data", DataFolders.DefaultMnistFolder()], new Dictionary<string, string> { ["PRELU_BACKEND_CACHE"] = _cache });

    [Fact]
    public void Time_steps_prints_the_images_per_second_of_the_backend()
    {
        var (code, output) = TimeSteps("native");
        Assert.True(code == 0, output);
        Assert.Matches(new Regex(@"^StudyRelu at batch 32 on native: \d+\.\d\d ms per training step \(forward, loss, backward\), [\d,]+ images/s$",
            RegexOptions.Multiline), output);
    }

    [Fact]
    public void Auto_prints_the_step_time_of_native_and_opencl_takes_the_faster_and_remembers_it()
    {
        var (code, output) = TimeSteps("auto");
        Assert.True(code == 0, output);
        var measured = Regex.Match(output, @"^auto: one training step of StudyRelu at batch 32: native (?<native>[\d.]+) ms, opencl \(.+\) (?<opencl>[\d.]+) ms; (?<fastest>native|opencl) \(?.*is the fastest$",
            RegexOptions.Multiline);
        Assert.True(measured.Success, output);
        bool nativeFaster = double.Parse(measured.Groups["native"].Value, CultureInfo.InvariantCulture) <= double.Parse(measured.Groups["opencl"].Value, CultureInfo.InvariantCulture);
        Assert.Equal(nativeFaster ? "native" : "opencl", measured.Groups["fastest"].Value);
        Assert.Matches(new Regex($@"^StudyRelu at batch 32 on {(nativeFaster ? "native" : "opencl")}", RegexOptions.Multiline), output);

        var (again, second) = TimeSteps("auto");
        Assert.True(again == 0, second);
        Assert.Contains("(measured before on this machine for this model; delete ", second, StringComparison.Ordinal);
    }
}

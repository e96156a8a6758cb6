using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Mnist.Tests;

/// <summary>
/// The README's Native AOT command, run as written: it publishes the study app with no warning at all, and the
/// binary trains and tests on the C kernels and on OpenCL (PoCL here), then classifies images with its checkpoint. What broke it once (Silk.NET's
/// reflection-based library search) cannot come back unseen.
/// </summary>
[Collection(MnistCollection.Name)]
public sealed partial class NativeAotTests(MnistFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-aot-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_readme_command_publishes_without_warnings_and_the_binary_trains_on_native_and_opencl()
    {
        var command = AotCommand().Match(Readme.Text());
        Assert.True(command.Success, "README.md has no `dotnet publish src/Prelu.Mnist ... -p:PublishAot=true -o out` command");
        var arguments = command.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        arguments[^1] = Path.Combine(_folder, "out"); // `-o out`, in a folder of the test's own

        var started = DateTime.UtcNow;
        var (code, output) = ChildProcess.Run("dotnet", Readme.RepositoryRoot(), [.. arguments, "-nologo"]);
        Assert.True(code == 0, output);
        // The app was built for this runtime already (Directory.Build.props): the publish compiles it ahead of time only,
        // not a second time with the C# compiler (11 of its 54 seconds when it did).
        var compiled = Directory.EnumerateFiles(Path.Combine(Readme.RepositoryRoot(), "src", "Prelu.Mnist", "obj"), "prelu-mnist.dll", SearchOption.AllDirectories)
            .Where(file => File.GetLastWriteTimeUtc(file) >= started).ToList();
        Assert.True(compiled.Count == 0, $"the publish compiled the app again: {string.Join(", ", compiled)}");
        var warnings = output.Split('\n').Where(line => WarningLine().IsMatch(line)).Distinct().ToList();
        Assert.True(warnings.Count == 0, $"the AOT publish printed warnings:\n{string.Join('\n', warnings)}");

        var binary = Path.Combine(_folder, "out", "prelu-mnist");
        Assert.True(File.Exists(Path.Combine(_folder, "out", "libprelu.so")), "libprelu.so is not beside the binary");
        // The README's aim: the app, without ScottPlot's native assets, under 15 MB.
        long size = new FileInfo(binary).Length + new FileInfo(Path.Combine(_folder, "out", "libprelu.so")).Length;
        Assert.True(size < 15_000_000, $"the binary and libprelu.so take {size:N0} bytes");
        foreach (var backend in new[] { "native", "opencl" })
        {
            var (runCode, runOutput) = ChildProcess.Run(binary, _folder, ["--runs", "prelu", "--epochs", "1", "--train-images", "500", "--backend", backend,
                "--data", DataFolders.DefaultMnistFolder(), "--output", Path.Combine(_folder, backend)]);
            Assert.True(runCode == 0, runOutput);
            Assert.Contains($"backend: {backend}", runOutput, StringComparison.Ordinal);
            Assert.Matches(@"test loss \d\.\d{4}, test accuracy 0\.[2-9]\d{3}", runOutput); // learned something from 400 images
        }

        // The binary classifies with the checkpoint it wrote: 20 test images from the IDX file.
        var idx = Path.Combine(_folder, "images.idx");
        File.WriteAllBytes(idx, [0, 0, 8, 3, 0, 0, 0, 20, 0, 0, 0, 28, 0, 0, 0, 28, .. fixture.Mnist.Test.RawPixels[..(20 * 784)].ToArray()]);
        var (predictCode, predictions) = ChildProcess.Run(binary, _folder, ["predict", "--checkpoint", Path.Combine(_folder, "native", "prelu.safetensors"), idx]);
        Assert.True(predictCode == 0, predictions);
        Assert.Equal(20, predictions.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(line => PredictionLine().IsMatch(line)));
    }

    // `dotnet publish src/Prelu.Mnist -c Release -r linux-x64 -p:PublishAot=true -o out`
    [GeneratedRegex(@"`dotnet (publish src/Prelu.Mnist [^`]*-p:PublishAot=true -o out)`")]
    private static partial Regex AotCommand();

    [GeneratedRegex(@"^.+#\d+: \d \(\d\.\d{4}\)$")]
    private static partial Regex PredictionLine();

    [GeneratedRegex(@"\bwarning [A-Z]+\d+|: warning\b", RegexOptions.IgnoreCase)]
    private static partial Regex WarningLine();
}

using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Repository.Tests;

/// <summary>MNIST in its per-user folder, fetched once if it is not there yet, before the sample runs on it.</summary>
public sealed class MnistInItsFolder : IAsyncLifetime
{
    public async Task InitializeAsync() => await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>
/// The package as an app uses it: `scripts/pack`, then samples/Classifier (its own models, no reference to
/// this repository but the package from the local folder feed) restored afresh, published with Native AOT
/// without warnings, and its binary run: train on a few hundred images, export PNGs, predict them and the
/// same images from the IDX file, and evaluate, whose accuracy the predictions must reproduce. The README's
/// "Use it in your app" section shows this very sample.
/// </summary>
public sealed partial class SampleTests(MnistInItsFolder mnist) : IClassFixture<MnistInItsFolder>, IDisposable
{
    private static readonly string Root = Readme.RepositoryRoot();
    private static readonly string Sample = Path.Combine(Root, "samples", "Classifier");
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-sample-").FullName;
    private readonly MnistInItsFolder _ = mnist; // MNIST is in its folder before the sample runs

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task The_packed_package_builds_the_sample_ahead_of_time_and_its_predictions_match_evaluate()
    {
        Assert.DoesNotContain("ProjectReference", File.ReadAllText(Path.Combine(Sample, "Classifier.csproj")), StringComparison.Ordinal);
        Check(ChildProcess.Run(Path.Combine(Root, "scripts", "pack"), Root, []));
        CheckPackageContents(Path.Combine(Root, "artifacts", "packages", "Prelu.0.1.0.nupkg"));
        // The package just packed, not one a previous run left in NuGet's cache under the same version.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (Directory.Exists(Path.Combine(cache, "prelu")))
            Directory.Delete(Path.Combine(cache, "prelu"), recursive: true);

        // The two publishes side by side (separate projects and folders): the ahead-of-time compiler spends much of the
        // Classifier's publish on one core, and this test is often the last of a `scripts/test` run, the other core idle.
        await Task.WhenAll(
            PublishAsReadmeSays(PublishCommand(), "samples/Classifier", Path.Combine(_folder, "out")),
            PublishAsReadmeSays(PredictorPublishCommand(), "samples/Predictor", Path.Combine(_folder, "predictor")));
        CheckSizesInReadme(new FileInfo(Path.Combine(_folder, "out", "Classifier")).Length, new FileInfo(Path.Combine(_folder, "predictor", "Predictor")).Length);

        string app = Path.Combine(_folder, "out", "Classifier"), checkpoint = Path.Combine(_folder, "mlp.safetensors");
        Assert.Contains("test accuracy", Check(ChildProcess.Run(app, _folder, ["train", "--model", "mlp", "--images", "600", "--checkpoint", checkpoint])), StringComparison.Ordinal);
        var pngs = Check(ChildProcess.Run(app, _folder, ["export", "--count", "40", Path.Combine(_folder, "digits")]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToArray();
        Assert.Equal(40, pngs.Length);

        var fromPng = Predictions(Check(ChildProcess.Run(app, _folder, ["predict", "--model", "mlp", "--checkpoint", checkpoint, .. pngs])));
        var idx = Path.Combine(Prelu.DataFolders.DefaultMnistFolder(), "t10k-images-idx3-ubyte");
        var fromIdx = Predictions(Check(ChildProcess.Run(app, _folder, ["predict", "--model", "mlp", "--checkpoint", checkpoint, idx]))).Take(40).ToList();
        Assert.Equal(fromIdx, fromPng);
        // The prediction-only app, its models declared [InferenceOnly], classifies as the training app does.
        var predictor = Path.Combine(_folder, "predictor", "Predictor");
        Assert.Equal(fromPng, Predictions(Check(ChildProcess.Run(predictor, _folder, ["--model", "mlp", "--checkpoint", checkpoint, .. pngs]))));

        // Evaluate's accuracy on the same 40 images is the share the predictions get right (labels are in the PNG names).
        int right = pngs.Zip(fromPng).Count(p => LabelInName().Match(p.First).Groups[1].Value == p.Second.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var evaluate = Check(ChildProcess.Run(app, _folder, ["evaluate", "--model", "mlp", "--checkpoint", checkpoint, "--images", "40"]));
        Assert.Contains($"test accuracy {right / 40.0:F4} on 40 images", evaluate, StringComparison.Ordinal);

        // The README's "Your own data", whole: a regression and a binary classifier on arrays, one `using Prelu;`.
        var own = Check(ChildProcess.Run(app, _folder, ["own-data"]));
        var mae = double.Parse(OwnDataFigure().Match(own).Groups["mae"].Value, System.Globalization.CultureInfo.InvariantCulture);
        var accuracy = double.Parse(OwnDataFigure().Match(own).Groups["accuracy"].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(mae < 0.2, own);       // the values spread over about -10 to 11
        Assert.True(accuracy > 0.97, own); // a sign rule, which one hidden layer learns

        // The trained model as an ONNX file, which ONNX Runtime runs to the sample's own classes.
        string onnx = Path.Combine(_folder, "mlp.onnx");
        Check(ChildProcess.Run(app, _folder, ["to-onnx", "--model", "mlp", "--checkpoint", checkpoint, "--onnx", onnx]));
        Assert.Equal(fromIdx, OnnxClasses(onnx, 40));

        // A checkpoint of the other model is refused, naming the tensor.
        var (mismatch, message) = ChildProcess.Run(app, _folder, ["predict", "--model", "cnn", "--checkpoint", checkpoint, pngs[0]]);
        Assert.Equal(2, mismatch);
        Assert.Contains($"{checkpoint}: ", message, StringComparison.Ordinal);
        Assert.Contains("conv2d.kernel: missing; DigitCnn needs it with shape [3, 3, 1, 16]", message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_readme_shows_the_samples_package_reference_and_model()
    {
        string readme = Readme.Text();
        Assert.Contains("<PackageReference Include=\"Prelu\" Version=\"0.1.0\" />", readme, StringComparison.Ordinal);
        var models = File.ReadAllText(Path.Combine(Sample, "Models.cs")).ReplaceLineEndings("\n");
        var cnn = models[models.IndexOf("[InputShape", models.IndexOf("DigitCnn", StringComparison.Ordinal) - 250, StringComparison.Ordinal)..];
        cnn = cnn[..(cnn.IndexOf("public partial class DigitCnn;", StringComparison.Ordinal) + "public partial class DigitCnn;".Length)];
        Assert.Contains(cnn, readme, StringComparison.Ordinal);
        Readme.AssertContainsRegions(Path.Combine("samples", "Classifier", "YourOwnData.cs"));
        Assert.Contains("<Version>0.1.0</Version>", File.ReadAllText(Path.Combine(Root, "Directory.Build.props")), StringComparison.Ordinal);
        // The sample asks for the version that is packed.
        Assert.Contains("<PackageVersion Include=\"Prelu\" Version=\"0.1.0\" />", File.ReadAllText(Path.Combine(Root, "samples", "Directory.Packages.props")), StringComparison.Ordinal);
    }

    // The README's `dotnet publish <sample> ...` command, run as written into `output`: it succeeds without a warning.
    private static Task PublishAsReadmeSays(Regex command, string sample, string output) => Task.Run(() =>
    {
        var publish = command.Match(Readme.Text());
        Assert.True(publish.Success, $"README.md has no `dotnet publish {sample} ...` command");
        var arguments = publish.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        arguments[^1] = output;
        var published = Check(ChildProcess.Run("dotnet", Root, [.. arguments, "-nologo"]));
        Assert.DoesNotMatch(@"\bwarning [A-Z]+\d+", published);
    });

    // What the README says the package holds: the assemblies with their symbols and XML documentation (an editor's help on
    // every public member; the build fails on a public member without it), the generator, the C library, the dependencies.
    private static void CheckPackageContents(string package)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var expected in (string[])["lib/net10.0/Prelu.Runtime.dll", "lib/net10.0/Prelu.Runtime.pdb", "lib/net10.0/Prelu.Runtime.xml",
            "lib/net10.0/Prelu.Native.dll", "lib/net10.0/Prelu.Native.pdb", "lib/net10.0/Prelu.Native.xml",
            "analyzers/dotnet/cs/Prelu.Generators.dll", "runtimes/linux-x64/native/libprelu.so", "runtimes/win-x64/native/prelu.dll",
            "runtimes/linux-arm64/native/libprelu.so"])
            Assert.True(entries.Contains(expected), $"{package} lacks {expected}; it holds {string.Join(", ", entries.Order())}");
        // Each runtime's C library is built for that runtime's processor, as its file header says.
        Assert.Equal("ELF x86-64", NativeHeader.Describe(Bytes(zip, "runtimes/linux-x64/native/libprelu.so")));
        Assert.Equal("PE32+ x86-64", NativeHeader.Describe(Bytes(zip, "runtimes/win-x64/native/prelu.dll")));
        Assert.Equal("ELF aarch64", NativeHeader.Describe(Bytes(zip, "runtimes/linux-arm64/native/libprelu.so")));
        long size = new FileInfo(package).Length;
        Assert.True(size < 3_000_000, $"{package} takes {size:N0} bytes; it should stay under 3 MB");
        string Text(string name)
        {
            using var reader = new StreamReader(zip.GetEntry(name)!.Open());
            return reader.ReadToEnd();
        }
        var runtimeDocs = Text("lib/net10.0/Prelu.Runtime.xml");
        foreach (var member in (string[])["T:Prelu.Trainer", "M:Prelu.Trainer.Fit(", "T:Prelu.Dataset", "T:Prelu.DenseAttribute", "P:Prelu.DenseAttribute.Units", "P:Prelu.FitOptions.Verbose"])
            Assert.Contains($"<member name=\"{member}", runtimeDocs, StringComparison.Ordinal);
        Assert.Contains("<member name=\"T:Prelu.BackendChoice\"", Text("lib/net10.0/Prelu.Native.xml"), StringComparison.Ordinal);
        var nuspec = Text("Prelu.nuspec");
        foreach (var dependency in (string[])["Silk.NET.OpenCL", "System.Numerics.Tensors", "Spectre.Console"])
            Assert.Contains($"id=\"{dependency}\"", nuspec, StringComparison.Ordinal);
    }

    private static byte[] Bytes(System.IO.Compression.ZipArchive zip, string name)
    {
        using var stream = zip.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    // The classes ONNX Runtime gives the first `count` MNIST test images with the exported model.
    private static List<int> OnnxClasses(string onnx, int count)
    {
        var test = MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder()).GetAwaiter().GetResult().Test.Slice(0, count);
        var pixels = new float[count * test.PixelsPerImage];
        test.GatherBatch(Enumerable.Range(0, count).ToArray(), pixels, new float[count * test.ClassCount]);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx);
        var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels, [count, 28, 28, 1]);
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("input", input)]);
        var probabilities = results.Single().AsEnumerable<float>().ToArray();
        return Enumerable.Range(0, count).Select(i => probabilities.AsSpan(i * 10, 10).IndexOf(probabilities.AsSpan(i * 10, 10).ToArray().Max())).ToList();
    }

    private static List<int> Predictions(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => int.Parse(PredictedClass().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

    private static string Check((int Code, string Output) run)
    {
        Assert.True(run.Code == 0, run.Output);
        return run.Output;
    }

    // The README gives both apps' sizes ("`Classifier`, N MB", "`Predictor`, M MB"): within 15% of what this build published,
    // and the prediction-only app the smaller.
    private static void CheckSizesInReadme(long classifier, long predictor)
    {
        Assert.True(predictor < classifier, $"the prediction-only app is {predictor:N0} bytes, the training one {classifier:N0}");
        var sizes = ReadmeSizes().Match(Readme.Text());
        Assert.True(sizes.Success, "README.md does not give the two apps' sizes as `Classifier`, N.N MB ... `Predictor`, N.N MB");
        foreach (var (stated, measured) in new[] { (sizes.Groups["classifier"].Value, classifier), (sizes.Groups["predictor"].Value, predictor) })
        {
            double megabytes = double.Parse(stated, System.Globalization.CultureInfo.InvariantCulture), actual = measured / 1e6;
            Assert.True(Math.Abs(megabytes - actual) <= 0.15 * actual, $"README.md says {megabytes} MB; this build published {actual:F1} MB");
        }
    }

    [GeneratedRegex(@"`Classifier`, (?<classifier>\d+\.\d) MB[^`]*`Predictor`, (?<predictor>\d+\.\d) MB")]
    private static partial Regex ReadmeSizes();

    [GeneratedRegex(@"`dotnet (publish samples/Predictor [^`]*-o out)`")]
    private static partial Regex PredictorPublishCommand();

    [GeneratedRegex(@"`dotnet (publish samples/Classifier [^`]*-o out)`")]
    private static partial Regex PublishCommand();

    [GeneratedRegex(@": (\d) \(\d\.\d{4}\)$")]
    private static partial Regex PredictedClass();

    [GeneratedRegex(@"regression: test mae (?<mae>\d+\.\d+).*\n.*binary classifier: test accuracy (?<accuracy>\d\.\d+)")]
    private static partial Regex OwnDataFigure();

    [GeneratedRegex(@"label-(\d)\.png$")]
    private static partial Regex LabelInName();
}

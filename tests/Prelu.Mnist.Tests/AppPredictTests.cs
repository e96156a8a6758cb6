using Prelu.Tests.Shared;
using Prelu.Mnist.Models;
using Prelu.Native.Backends;

namespace Prelu.Mnist.Tests;

/// <summary>
/// `prelu-mnist predict` with a checkpoint the study wrote: one line per image, classes that reproduce
/// `evaluate`'s accuracy on the same images and the model's own predictions; a checkpoint of no study model is
/// refused naming the field.
/// </summary>
[Collection(MnistCollection.Name)]
public sealed class AppPredictTests(MnistFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-app-predict-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Predict_classifies_an_idx_file_as_evaluate_scores_it()
    {
        const int count = 60;
        var output = Path.Combine(_folder, "run");
        Assert.Equal(0, ChildProcess.RunApp("--runs", "prelu", "--epochs", "1", "--train-images", "500", "--backend", "native",
            "--data", DataFolders.DefaultMnistFolder(), "--output", output).Code);
        var checkpoint = Path.Combine(output, "prelu.safetensors");

        // The first test images as an IDX file of their own.
        var test = fixture.Mnist.Test.Slice(0, count);
        var idx = Path.Combine(_folder, "images.idx");
        File.WriteAllBytes(idx, [0, 0, 8, 3, 0, 0, 0, count, 0, 0, 0, 28, 0, 0, 0, 28, .. test.RawPixels.ToArray()]);

        var (code, text) = ChildProcess.RunApp("predict", "--checkpoint", checkpoint, "--backend", "native", idx);
        Assert.True(code == 0, text);
        var classes = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => int.Parse(line.Split(": ")[1][..1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(count, classes.Count);

        using var backend = new NativeBackend();
        using var model = new StudyPRelu(backend, Predict.Batch);
        Checkpoint.Load(checkpoint, model);
        using var trainer = new Trainer(model, new Adam());
        var probabilities = trainer.Predict(test, count);
        var expected = Enumerable.Range(0, count).Select(i => ArgMax(probabilities.AsSpan(i * 10, 10))).ToList();
        Assert.Equal(expected, classes);
        double right = classes.Where((c, i) => c == test.Labels.Span[i]).Count() / (double)count;
        Assert.Equal(trainer.Evaluate(test, count).Accuracy, right, 12);
    }

    [Fact]
    public void A_checkpoint_of_no_study_model_is_refused_naming_the_field()
    {
        var path = Path.Combine(_folder, "other.safetensors");
        SafeTensors.Write(path, [new NamedTensor("w", [1], [0f])], new Dictionary<string, string> { ["model"] = "SomethingElse" });
        var (code, text) = ChildProcess.RunApp("predict", "--checkpoint", path, path);
        Assert.Equal(2, code);
        Assert.Contains($"{path}: __metadata__.model: is 'SomethingElse', not one of the study's models", text, StringComparison.Ordinal);
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int k = 1; k < row.Length; k++)
            best = row[k] > row[best] ? k : best;
        return best;
    }
}

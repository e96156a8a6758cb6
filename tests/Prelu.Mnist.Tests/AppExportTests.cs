using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Prelu.Native.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Mnist.Tests;

/// <summary>
/// `prelu-mnist export`: the study's three trained models as ONNX files, which ONNX Runtime runs on the whole MNIST
/// test set to Prelu's probabilities (relative 1e-5) and so to its test accuracy.
/// </summary>
[Collection(MnistCollection.Name)]
public sealed class AppExportTests(MnistFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-app-export-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_studys_trained_models_score_the_same_test_accuracy_in_onnx_runtime()
    {
        var output = Path.Combine(_folder, "run");
        var (trained, log) = ChildProcess.RunApp("--runs", "relu", "prelu", "prelu-0.25", "--epochs", "1", "--train-images", "1000", "--backend", "native",
            "--data", DataFolders.DefaultMnistFolder(), "--output", output);
        Assert.True(trained == 0, log);
        var test = fixture.Mnist.Test;
        const int Batch = 1000;
        var pixels = new float[test.Count * test.PixelsPerImage];
        var labels = new float[test.Count * test.ClassCount];
        test.GatherBatch(Enumerable.Range(0, test.Count).ToArray(), pixels, labels);
        foreach (var run in new[] { "relu", "prelu", "prelu-0.25" })
        {
            string checkpoint = Path.Combine(output, $"{run}.safetensors"), onnx = Path.Combine(_folder, $"{run}.onnx");
            var (code, text) = ChildProcess.RunApp("export", "--checkpoint", checkpoint, "--onnx", onnx);
            Assert.True(code == 0, text);
            Assert.Contains($"written to {onnx} (ONNX, opset 17)", text, StringComparison.Ordinal);

            using var backend = new NativeBackend();
            using var model = Predict.Load(checkpoint, backend, Batch);
            using var trainer = new Trainer(model, new Adam());
            var ours = trainer.Predict(test, Batch);
            double accuracy = trainer.Evaluate(test, Batch).Accuracy;

            using var session = new InferenceSession(onnx);
            var theirs = new float[ours.Length];
            for (int start = 0; start < test.Count; start += Batch)
            {
                var input = new DenseTensor<float>(pixels.AsMemory(start * 784, Batch * 784), [Batch, 28, 28, 1]);
                using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
                results.Single().AsEnumerable<float>().ToArray().CopyTo(theirs, start * 10);
            }
            Close.Assert(ours, theirs, Close.Forward, $"{run}: ONNX Runtime's probabilities against Predict's on the test set");
            int right = Enumerable.Range(0, test.Count).Count(i => ArgMax(theirs.AsSpan(i * 10, 10)) == test.Labels.Span[i]);
            Assert.Equal(accuracy, right / (double)test.Count, 12);
        }
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int k = 1; k < row.Length; k++)
            best = row[k] > row[best] ? k : best;
        return best;
    }
}

using Prelu.Kernels;
using Prelu.Runtime.Tests.Data;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests;

/// <summary>README examples about data: compiled and run here, and found in the README by <see cref="Readme"/>.</summary>
[Collection(RealMnistCollection.Name)]
public sealed class ReadmeTests
{
    [Fact]
    public async Task Loading_mnist()
    {
        #region readme: loading-mnist
        var mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());
        var (train, validation) = mnist.Train.SplitValidation(0.2); // Keras's validation_split: the last 20%
        var pixels = new float[250 * train.PixelsPerImage];        // (250, 28, 28, 1), float32 in [0, 1]
        var labels = new float[250 * train.ClassCount];            // (250, 10), one-hot
        train.GatherBatch(Enumerable.Range(0, 250).ToArray(), pixels, labels);
        #endregion

        Assert.Equal(48_000, train.Count);
        Assert.Equal(12_000, validation.Count);
        Assert.Equal(250f, labels.Sum());
        Assert.InRange(pixels.Max(), 0.99f, 1f);
    }

    [Fact]
    public void Training_a_regression_by_steps()
    {
        using var backend = new Prelu.Backends.ManagedBackend();
        var features = Det.Floats(8 * 5, 61);
        var values = Det.Floats(8 * 2, 62);
        using var model = new RegressionNet(backend, maxBatchSize: 8);
        model.Initialize(seed: 1);
        using var optimizer = new Adam(new AdamSettings(LearningRate: 0.01f));
        using var inputs = backend.Allocate(features);  // (8, 5)
        using var targets = backend.Allocate(values);   // (8, 2): what the loss reads
        using var metrics = backend.Allocate(MetricSlot.Count);
        for (int step = 1; step <= 300; step++)
        {
            backend.Fill(metrics, 0f);
            model.ComputeGradients(inputs, targets, batchCount: 8, step: (ulong)step, metrics);
            optimizer.Step(model);
        }
        var sums = backend.ToArray(metrics);  // sums over the batch's samples
        double mse = sums[MetricSlot.LossSum] / 8, mae = sums[MetricSlot.AbsoluteError] / 8;

        Assert.InRange(mse, 0, 0.05); // eight samples, 50 weights: learned by heart
        Assert.InRange(mae, 0, Math.Sqrt(mse) + 1e-6);
        Assert.Equal(mse, sums[MetricSlot.SquaredError] / 8, 6); // the loss is the squared error itself
    }

    [Fact]
    public void Your_own_data()
    {
        using var backend = new Prelu.Backends.ManagedBackend();
        var features = Det.Floats(200 * 5, 71);
        var values = Enumerable.Range(0, 200).SelectMany(i => new[] { features[5 * i] - features[5 * i + 1], MathF.Tanh(features[5 * i + 2]) }).ToArray();
        var labels = Enumerable.Range(0, 200).Select(i => features[5 * i] > 0 ? (features[5 * i + 1] > 0 ? 3 : 2) : features[5 * i + 1] > 0 ? 1 : 0).ToArray();
        #region readme: own-data
        // 200 samples of five features; two values to predict for each, as arrays (or Memory<float>; Dataset.Copy takes spans)
        var data = new Dataset(features, sampleShape: [5], targets: values, targetLength: 2);
        using var model = new RegressionNet(backend, maxBatchSize: 16);
        model.Initialize(seed: 1);
        using var trainer = new Trainer(model, new Adam(new AdamSettings(LearningRate: 0.01f)));
        var history = trainer.Fit(data, new FitOptions(Epochs: 30, BatchSize: 16, ValidationSplit: 0.2, Seed: 1));
        float[] predicted = trainer.Predict(data, batchSize: 16); // (200, 2)

        // The same samples with a class each, 0 to 3, for a classifier that reads class indices
        var classes = new Dataset(features, sampleShape: [5], classes: labels, classCount: 4);
        #endregion

        Assert.True(history.Epochs[^1].ValidationLoss < 0.05, $"validation loss {history.Epochs[^1].ValidationLoss}");
        Assert.Equal(400, predicted.Length);
        using var classifier = new SparseNet(backend, 16);
        classifier.Initialize(1);
        using var classifierTrainer = new Trainer(classifier, new Adam(new AdamSettings(LearningRate: 0.01f)));
        var classified = classifierTrainer.Fit(classes, new FitOptions(Epochs: 30, BatchSize: 16, Seed: 1));
        Assert.True(classified.Epochs[^1].Accuracy > 0.9, $"accuracy {classified.Epochs[^1].Accuracy}");
    }

    [Theory]
    [InlineData("tests/Prelu.Runtime.Tests/ReadmeTests.cs")]
    [InlineData("tests/Prelu.Runtime.Tests/Training/CallbackTests.cs")]
    public void Every_readme_example_of_these_files_is_in_the_readme(string file) => Readme.AssertContainsRegions(file);
}

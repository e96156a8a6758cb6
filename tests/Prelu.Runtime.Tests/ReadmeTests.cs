using Prelu.Data;
using Prelu.Kernels;
using Prelu.Optimizers;
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
        #region readme: training-steps
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
        #endregion

        Assert.InRange(mse, 0, 0.05); // eight samples, 50 weights: learned by heart
        Assert.InRange(mae, 0, Math.Sqrt(mse) + 1e-6);
        Assert.Equal(mse, sums[MetricSlot.SquaredError] / 8, 6); // the loss is the squared error itself
    }

    [Fact]
    public void Every_readme_example_of_this_file_is_in_the_readme() =>
        Readme.AssertContainsRegions("tests/Prelu.Runtime.Tests/ReadmeTests.cs");
}

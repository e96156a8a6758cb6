using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Models;

/// <summary>
/// Keras's Normalization: Adapt computes each feature's mean and biased variance over the data (every position of a
/// map), the layer normalises with them, they are non-trainable state that checkpoints keep; and TensorFlow's basic
/// regression of Auto MPG trains to the test error its tutorial reports.
/// </summary>
public sealed class NormalizationTests : IDisposable
{
    private readonly ManagedBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    [Fact]
    public void Adapt_takes_each_features_mean_and_variance_over_every_sample_and_position()
    {
        var x = Det.Floats(10 * 12, 91, -3, 5);
        var data = new Dataset(x, [2, 2, 3], Enumerable.Range(0, 10).Select(i => i % 3).ToArray(), classCount: 3);
        using var model = new NormalizedInputNet(_backend, 10);
        model.Initialize(1);
        Assert.Equal([0f, 0f, 0f], model.GetParameter("normalization.mean"));
        Assert.Equal([1f, 1f, 1f], model.GetParameter("normalization.variance"));

        model.Adapt(data);

        for (int c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, 40).Select(i => (double)x[i * 3 + c]).ToArray();
            double mean = values.Average(), variance = values.Select(v => (v - mean) * (v - mean)).Average();
            Assert.Equal((float)mean, model.GetParameter("normalization.mean")[c], 6);
            Assert.Equal((float)variance, model.GetParameter("normalization.variance")[c], 5);
        }
        Assert.Equal([40f], model.GetParameter("normalization.count"));
        Assert.Contains("Non-trainable params: 7", model.Summary(), StringComparison.Ordinal);

        // The layer's output: (x - mean) / sqrt(variance), each feature now of mean 0 and variance 1 over the data.
        using var input = _backend.Allocate(x);
        model.Forward(input, 10, training: false, step: 0);
        var normalized = model.LayerOutputs(10).Single(o => o.Layer == "normalization").Output;
        var y = _backend.ToArray(normalized);
        for (int c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, 40).Select(i => (double)y[i * 3 + c]).ToArray();
            Assert.Equal(0, values.Average(), 5);
            Assert.Equal(1, values.Select(v => v * v).Average(), 4);
        }

        // Kept in checkpoints, as non-trainable state.
        var path = Path.Combine(Path.GetTempPath(), $"prelu-normalization-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, model);
            using var loaded = new NormalizedInputNet(_backend, 10);
            Checkpoint.Load(path, loaded);
            foreach (var state in new[] { "normalization.mean", "normalization.variance", "normalization.count" })
                Assert.Equal(model.GetParameter(state), loaded.GetParameter(state));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Adapt_refuses_a_model_without_the_layer_data_of_another_shape_and_an_empty_set()
    {
        using var plain = new Mlp(_backend, 4);
        Assert.Equal("Mlp has no Normalization layer to adapt",
            Assert.Throws<InvalidOperationException>(() => plain.Adapt(new Dataset(new float[784], [784], new float[1]))).Message);
        using var model = new NormalizedInputNet(_backend, 4);
        Refused.Assert<ArgumentException>(() => model.Adapt(new Dataset(new float[10], [10], new float[1])), "data",
            "NormalizedInputNet takes samples of 2x2x3, the data has 10");
        Refused.Assert<ArgumentException>(() => model.Adapt(new LabeledImages(Array.Empty<byte>(), Array.Empty<byte>(), 2, 2, 3, 3)), "data",
            "the data set is empty: there is nothing to adapt to");
    }

    [Fact]
    public async Task The_basic_regression_tutorials_network_predicts_auto_mpg_within_its_reported_error()
    {
        var cars = await AutoMpg.LoadOrFetchAsync();
        var (train, test) = cars.RandomSplit(0.8, seed: 0);
        using var model = new AutoMpgNet(_backend, 32);
        model.Initialize(1);
        model.Adapt(train);
        using var trainer = new Trainer(model, new Adam(new AdamSettings(LearningRate: 0.001f)));

        var history = trainer.Fit(train, new FitOptions(Epochs: 100, BatchSize: 32, ValidationSplit: 0.2, Seed: 1));
        var evaluation = trainer.Evaluate(test, 32);

        // The tutorial reports a test error of about 1.6 to 1.8 miles per gallon for this network, 2.5 for a linear model.
        Assert.InRange(evaluation.Loss, 0.5, 2.3);
        Assert.Equal(evaluation.Loss, evaluation.Metrics["mae"], 5); // the loss is the mean absolute error
        Assert.True(history.Of("val_loss").Last() < 3, $"validation error {history.Of("val_loss").Last()}");
    }
}

using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Training;

// SparseNet (tests/Shared/Models.cs) with one-hot targets: the same layers, so the same names and the same initial weights.
[InputShape(5)]
[Dense(5, Activation = "relu")]
[Dense(4)]
[Activation("softmax")]
public partial class OneHotTwinNet;

/// <summary>
/// What the loss a model declares changes for the training loop: labeled images feed the categorical cross-entropies
/// with one-hot rows or class indices, and a model of another loss is refused before anything trains.
/// </summary>
public sealed class LossTrainingTests : IDisposable
{
    private readonly ManagedBackend _backend = new();
    private readonly LabeledImages _data;

    public LossTrainingTests()
    {
        var pixels = Det.Floats(40 * 5, 13, 0, 256).Select(v => (byte)v).ToArray();
        var labels = Enumerable.Range(0, 40).Select(i => (byte)(i * 3 % 4)).ToArray();
        _data = new LabeledImages(pixels, labels, 1, 5, 1, 4);
    }

    public void Dispose() => _backend.Dispose();

    [Fact]
    public void Class_indices_train_to_the_bits_of_one_hot_rows()
    {
        // The two losses' gradients are the same operations (p - y / B), so the weights match to the bit; the reported
        // losses are the same sums written two ways (log-sum-exp minus the class's logit), equal to rounding.
        var options = new FitOptions(Epochs: 3, BatchSize: 8, ValidationSplit: 0.25, Seed: 5);
        using var sparse = new SparseNet(_backend, 8);
        using var oneHot = new OneHotTwinNet(_backend, 8);
        Assert.Equal(LossKind.SparseCategoricalCrossentropy, sparse.Loss.Kind);
        Assert.Equal(LossKind.CategoricalCrossentropy, oneHot.Loss.Kind);
        sparse.Initialize(2);
        oneHot.Initialize(2);
        Assert.Equal(_backend.ToArray(oneHot.ParameterArena), _backend.ToArray(sparse.ParameterArena));

        using var sparseTrainer = new Trainer(sparse, new Adam());
        using var oneHotTrainer = new Trainer(oneHot, new Adam());
        var sparseHistory = sparseTrainer.Fit(_data, options);
        var oneHotHistory = oneHotTrainer.Fit(_data, options);

        Assert.Equal(_backend.ToArray(oneHot.ParameterArena), _backend.ToArray(sparse.ParameterArena));
        foreach (var (a, b) in sparseHistory.Epochs.Zip(oneHotHistory.Epochs))
        {
            Assert.Equal(b.Loss, a.Loss, 5);
            Assert.Equal(b.Accuracy, a.Accuracy);
            Assert.Equal(b.ValidationLoss!.Value, a.ValidationLoss!.Value, 5);
        }
        Assert.True(sparseHistory.Epochs[^1].Loss < sparseHistory.Epochs[0].Loss, "the loss should fall");
        Assert.Equal(sparseTrainer.Predict(_data, 8), oneHotTrainer.Predict(_data, 8));
    }

    [Fact]
    public void A_model_of_another_loss_is_refused_labeled_images_before_anything_trains()
    {
        using var model = new RegressionNet(_backend, 8);
        model.Initialize(1);
        var before = _backend.ToArray(model.ParameterArena);
        var images = new LabeledImages(new byte[10 * 5], new byte[10], 1, 5, 1, 2);
        using var trainer = new Trainer(model, new Adam());

        var error = Assert.Throws<ArgumentException>(() => trainer.Fit(images, new FitOptions(Epochs: 1, BatchSize: 8)));

        Assert.Equal("data", error.ParamName);
        Assert.StartsWith("RegressionNet trains with mean_squared_error: labeled images (a class per image) train a model whose loss is " +
            "categorical_crossentropy or sparse_categorical_crossentropy, not mean_squared_error", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, _backend.ToArray(model.ParameterArena));
    }
}

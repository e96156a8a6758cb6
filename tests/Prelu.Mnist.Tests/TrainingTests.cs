using Prelu.Kernels;
using Prelu.Mnist.Models;
using Prelu.Native.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Mnist.Tests;

/// <summary>Loads (and on a new machine fetches) MNIST once for the training tests.</summary>
public sealed class MnistFixture : IAsyncLifetime
{
    public MnistDataset Mnist { get; private set; } = null!;

    public async Task InitializeAsync() => Mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());

    public Task DisposeAsync() => Task.CompletedTask;
}

[CollectionDefinition(Name)]
public sealed class MnistCollection : ICollectionFixture<MnistFixture>
{
    public const string Name = "MNIST";
}

/// <summary>Short real-MNIST training runs of the study's model on the C kernels (the full study is the app's job).</summary>
[Collection(MnistCollection.Name)]
public sealed class TrainingTests(MnistFixture fixture)
{
    private readonly MnistDataset _mnist = fixture.Mnist;

    [Fact]
    public void One_epoch_on_2000_images_learns_far_above_chance_on_images_it_did_not_see()
    {
        using var backend = new NativeBackend();
        using var model = new StudyPRelu(backend, 250);
        model.Initialize(1);
        using var trainer = new Trainer(model, new Adam());
        var observer = new RecordingObserver();

        var history = trainer.Fit(_mnist.Train.Slice(0, 2000), new FitOptions(Epochs: 1, BatchSize: 250, Seed: 1), observer);
        var (testLoss, testAccuracy) = trainer.Evaluate(_mnist.Test.Slice(0, 2000), 250);

        Assert.Single(history.Epochs);
        Assert.True(testAccuracy > 0.6, $"test accuracy {testAccuracy} after one epoch on 2,000 images (chance is 0.1)");
        Assert.True(testLoss < 1.5, $"test loss {testLoss}");
        Assert.True(history.Epochs[0].Loss < 2.3, $"training loss {history.Epochs[0].Loss}");
        Assert.Equal(8, observer.Batches.Max());
        Assert.Equal(1, observer.EpochsCompleted);
    }

    [Fact]
    public void The_same_seed_twice_gives_the_same_history_weights_and_optimizer_state_to_the_last_bit()
    {
        (List<(double, double, double?, double?)> History, float[] Weights, Dictionary<string, float[]> OptimizerState, long Iterations) Train()
        {
            using var backend = new NativeBackend();
            using var model = new StudyPRelu25(backend, 100);
            model.Initialize(7);
            using var optimizer = new Adam();
            using var trainer = new Trainer(model, optimizer);
            var history = trainer.Fit(_mnist.Train.Slice(0, 1000), new FitOptions(Epochs: 2, BatchSize: 100, ValidationSplit: 0.2, Seed: 3));
            return (history.Epochs.Select(e => (e.Loss, e.Accuracy, e.ValidationLoss, e.ValidationAccuracy)).ToList(),
                backend.ToArray(model.ParameterArena),
                optimizer.State(model).ToDictionary(s => s.Name, s => backend.ToArray(s.Buffer)),
                optimizer.Iterations);
        }

        var first = Train();
        var second = Train();

        Assert.Equal(2, first.History.Count);
        Assert.Equal(first.History, second.History);
        Assert.Equal(2 * 8, first.Iterations); // 800 training images in batches of 100, twice
        Assert.Equal(first.Iterations, second.Iterations);
        Assert.Equal(first.Weights, second.Weights); // float equality: the same bits (no NaN can hide here)
        Assert.All(first.Weights, w => Assert.True(float.IsFinite(w)));
        Assert.Equal(first.OptimizerState.Keys, second.OptimizerState.Keys);
        Assert.NotEmpty(first.OptimizerState);
        foreach (var (name, values) in first.OptimizerState)
            Assert.Equal(values, second.OptimizerState[name]);
    }

    [Fact]
    public void Validation_holds_out_the_last_fraction_and_a_short_last_batch_counts()
    {
        using var backend = new NativeBackend();
        using var model = new StudyRelu(backend, 64);
        model.Initialize(2);
        using var trainer = new Trainer(model, new Adam());
        var observer = new RecordingObserver();

        // 500 images, 20% held out: 400 trained in batches of 64 (six full, one of 16).
        var history = trainer.Fit(_mnist.Train.Slice(0, 500), new FitOptions(Epochs: 1, BatchSize: 64, ValidationSplit: 0.2, Seed: 1), observer);

        Assert.Equal(7, observer.Batches.Max());
        var (valLoss, valAccuracy) = trainer.Evaluate(_mnist.Train.Slice(400, 100), 64);
        Assert.Equal(valLoss, history.Epochs[0].ValidationLoss!.Value, 5);
        Assert.Equal(valAccuracy, history.Epochs[0].ValidationAccuracy!.Value, 5);
    }

    [Fact]
    public void Predict_gives_probabilities_that_agree_with_evaluate()
    {
        using var backend = new NativeBackend();
        using var model = new StudyRelu(backend, 100);
        model.Initialize(4);
        using var trainer = new Trainer(model, new Adam());
        trainer.Fit(_mnist.Train.Slice(0, 1000), new FitOptions(Epochs: 1, BatchSize: 100, Seed: 1));
        var test = _mnist.Test.Slice(0, 250);

        var probabilities = trainer.Predict(test, 100);
        var (_, accuracy) = trainer.Evaluate(test, 100);

        var labels = test.Labels.ToArray();
        int correct = Enumerable.Range(0, test.Count).Count(i =>
        {
            var row = probabilities.AsSpan(i * 10, 10);
            int best = 0;
            for (int k = 1; k < 10; k++)
                best = row[k] > row[best] ? k : best;
            return best == labels[i];
        });
        Assert.Equal(accuracy, correct / 250.0, 6);
        Assert.All(Enumerable.Range(0, test.Count), i => Assert.Equal(1.0, probabilities.AsSpan(i * 10, 10).ToArray().Sum(), 4));
    }

    [Fact]
    public void Data_that_does_not_fit_the_model_is_refused()
    {
        using var backend = new NativeBackend();
        using var model = new StudyRelu(backend, 10);
        using var trainer = new Trainer(model, new Adam());
        var wrong = new LabeledImages(new byte[2 * 16], new byte[2], 4, 4, 1, 10);

        Refused.Assert<ArgumentException>(() => trainer.Fit(wrong, new FitOptions(1, 10)), "data", "StudyRelu takes samples of 28x28x1, the data has 4x4x1");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_mnist.Train.Slice(0, 100), new FitOptions(1, 11)), "batchSize",
            "StudyRelu was built for batches of 1 to 10", "11");
    }

    private sealed class RecordingObserver : ITrainingObserver
    {
        public List<int> Batches { get; } = [];
        public int EpochsCompleted { get; private set; }

        public void EpochStarted(int epoch, int epochs, int batches)
        {
        }

        public void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond) => Batches.Add(batch);

        public void EpochCompleted(EpochMetrics metrics) => EpochsCompleted++;
    }
}

/// <summary>The study's configurations are the same network: PReLU with alphas at 0 is ReLU, step for step.</summary>
public sealed class StudyModelTests
{
    [Fact]
    public void PReLU_with_alphas_at_zero_gives_relus_gradients()
    {
        using var backend = new NativeBackend();
        using var relu = new StudyRelu(backend, 16);
        using var prelu = new StudyPRelu(backend, 16);
        relu.Initialize(9);
        prelu.Initialize(9); // the same seed draws the same kernels; PReLU's alphas start at 0
        var random = new Random(3);
        using var input = backend.Allocate(Enumerable.Range(0, 16 * 784).Select(_ => (float)random.NextDouble()).ToArray());
        using var labels = backend.Allocate(Enumerable.Range(0, 160).Select(i => i % 10 == i / 10 % 10 ? 1f : 0f).ToArray());
        using var metrics = backend.Allocate(Prelu.Kernels.MetricSlot.Count);

        relu.ComputeGradients(input, labels, 16, step: 4, metrics);
        prelu.ComputeGradients(input, labels, 16, step: 4, metrics);

        foreach (var p in relu.Parameters)
            Assert.Equal(relu.GetGradient(p.Name), prelu.GetGradient(p.Name));
        Assert.Equal(new[] { 320, 21_632, 18_496, 7_744, 409_856, 256, 2_570 }.Sum(), prelu.ParameterCount);
    }
}

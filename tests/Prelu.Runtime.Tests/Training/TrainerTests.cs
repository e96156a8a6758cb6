using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Training;

/// <summary>
/// The training loop's own logic on a small generated model and made-up images, on the managed backend:
/// shuffling, batching with a short last batch, what the observer hears and when, cancellation, and
/// evaluate / predict across batch sizes. Training on real MNIST is in Prelu.Mnist.Tests.
/// </summary>
public sealed class TrainerTests : IDisposable
{
    private const int Images = 50;
    private readonly ManagedBackend _backend = new();
    private readonly LabeledImages _data;

    public TrainerTests()
    {
        var pixels = Det.Floats(Images * 784, 9, 0, 256).Select(v => (byte)v).ToArray();
        var labels = Enumerable.Range(0, Images).Select(i => (byte)(i * 7 % 10)).ToArray();
        _data = new LabeledImages(pixels, labels, 28, 28, 1, 10);
    }

    public void Dispose() => _backend.Dispose();

    private (Mlp Model, Trainer Trainer) Make(int batch = 8, ulong seed = 1)
    {
        var model = new Mlp(_backend, batch);
        model.Initialize(seed);
        return (model, new Trainer(model, new Adam()));
    }

    [Fact]
    public void The_shuffle_follows_its_seed_and_without_shuffling_the_seed_changes_nothing()
    {
        float[] Weights(bool shuffle, ulong fitSeed)
        {
            var (model, trainer) = Make();
            using (model)
            using (trainer)
            {
                trainer.Fit(_data, new FitOptions(Epochs: 2, BatchSize: 8, Shuffle: shuffle, Seed: fitSeed));
                return _backend.ToArray(model.ParameterArena);
            }
        }

        Assert.Equal(Weights(shuffle: false, fitSeed: 1), Weights(shuffle: false, fitSeed: 2));
        Assert.Equal(Weights(shuffle: true, fitSeed: 1), Weights(shuffle: true, fitSeed: 1));
        Assert.NotEqual(Weights(shuffle: true, fitSeed: 1), Weights(shuffle: true, fitSeed: 2));
        Assert.NotEqual(Weights(shuffle: false, fitSeed: 1), Weights(shuffle: true, fitSeed: 1));
    }

    [Fact]
    public void The_observer_hears_every_epoch_and_with_a_zero_interval_every_batch_with_running_means()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        var observer = new Recorder();

        // 50 images, 20% held out: 40 trained in batches of 8 (five), validated on 10.
        var history = trainer.Fit(_data, new FitOptions(Epochs: 3, BatchSize: 8, ValidationSplit: 0.2, Seed: 4, ProgressInterval: TimeSpan.Zero), observer);

        Assert.Equal([(1, 3, 5), (2, 3, 5), (3, 3, 5)], observer.Started);
        Assert.Equal(Enumerable.Range(1, 3).SelectMany(e => Enumerable.Range(1, 5).Select(b => (e, b))), observer.Batches.Select(b => (b.Epoch, b.Batch)));
        Assert.Equal(history.Epochs, observer.Completed);
        Assert.Equal([1, 2, 3], history.Epochs.Select(e => e.Epoch));
        Assert.Equal(15, trainer.Optimizer.Iterations);
        foreach (var epoch in history.Epochs)
        {
            var last = observer.Batches.Last(b => b.Epoch == epoch.Epoch);
            Assert.Equal(epoch.Loss, last.Loss, 6); // the running mean after the last batch is the epoch's
            Assert.Equal(epoch.Accuracy, last.Accuracy, 6);
            Assert.InRange(epoch.Accuracy, 0, 1);
            Assert.True(epoch.Seconds > 0 && epoch.ImagesPerSecond > 0);
            Assert.Equal(40 / epoch.Seconds, epoch.ImagesPerSecond, 3);
            var (valLoss, valAccuracy) = (epoch.ValidationLoss!.Value, epoch.ValidationAccuracy!.Value);
            Assert.True(valLoss > 0);
            Assert.Equal(Math.Round(valAccuracy * 10), valAccuracy * 10, 9); // a count out of 10 images
        }
        Assert.All(observer.Batches, b => Assert.True(b.ImagesPerSecond > 0));
        Assert.Equal(history.Loss, history.Epochs.Select(e => e.Loss));
        Assert.Equal(history.Accuracy, history.Epochs.Select(e => e.Accuracy));
        Assert.Equal(history.ValidationLoss, history.Epochs.Select(e => e.ValidationLoss));
        Assert.Equal(history.ValidationAccuracy, history.Epochs.Select(e => e.ValidationAccuracy));
        Assert.True(history.Loss.Last() < history.Loss.First(), $"loss {string.Join(" -> ", history.Loss)}");
    }

    [Fact]
    public void With_a_long_interval_the_observer_hears_only_each_epochs_last_batch_and_no_validation_is_none()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        var observer = new Recorder();

        var history = trainer.Fit(_data, new FitOptions(Epochs: 2, BatchSize: 8, ProgressInterval: TimeSpan.FromHours(1)), observer);

        Assert.Equal([(1, 7), (2, 7)], observer.Batches.Select(b => (b.Epoch, b.Batch))); // 50 images: six of 8 and one of 2
        Assert.All(history.Epochs, e => Assert.Null(e.ValidationLoss));
        Assert.All(history.Epochs, e => Assert.Null(e.ValidationAccuracy));
    }

    [Fact]
    public void A_cancelled_fit_stops_before_the_next_batch()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        using var cancel = new CancellationTokenSource();
        var observer = new Recorder { AfterBatch = b => { if (b == 2) cancel.Cancel(); } };

        var stopped = Assert.Throws<TrainingInterruptedException>(() =>
            trainer.Fit(_data, new FitOptions(Epochs: 1, BatchSize: 8, ProgressInterval: TimeSpan.Zero), observer, cancel.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(stopped);
        Assert.Equal((1, 2, null), (stopped.Epoch, stopped.Batch, stopped.CheckpointPath));
        Assert.Equal(2, trainer.Optimizer.Iterations);
        Assert.Empty(observer.Completed);
    }

    [Fact]
    public void Evaluate_and_predict_give_the_same_answers_for_any_batch_size()
    {
        var (model, trainer) = Make(batch: 8);
        using var _ = model;
        using var __ = trainer;
        trainer.Fit(_data, new FitOptions(Epochs: 1, BatchSize: 8));

        var (loss8, accuracy8) = trainer.Evaluate(_data, 8); // six batches of 8 and one of 2
        var (loss1, accuracy1) = trainer.Evaluate(_data, 1);
        var (loss7, accuracy7) = trainer.Evaluate(_data.Slice(0, 5), 7); // one batch, shorter than asked

        Assert.Equal(loss1, loss8, 5);
        Assert.Equal(accuracy1, accuracy8);
        var predicted8 = trainer.Predict(_data, 8);
        var predicted1 = trainer.Predict(_data, 1);
        Assert.Equal(Images * 10, predicted8.Length);
        Assert.Equal(predicted1, predicted8);
        // Accuracy and loss recomputed from the predictions.
        var labels = _data.Labels.ToArray();
        int correct = Enumerable.Range(0, Images).Count(i => ArgMax(predicted8.AsSpan(i * 10, 10)) == labels[i]);
        double meanLoss = Enumerable.Range(0, Images).Average(i => -Math.Log(predicted8[i * 10 + labels[i]]));
        Assert.Equal(correct / (double)Images, accuracy8, 9);
        Assert.Equal(meanLoss, loss8, 4);
        Assert.Equal(Enumerable.Range(0, 5).Average(i => -Math.Log(predicted8[i * 10 + labels[i]])), loss7, 4);
        Assert.Equal(Enumerable.Range(0, 5).Count(i => ArgMax(predicted8.AsSpan(i * 10, 10)) == labels[i]) / 5.0, accuracy7, 9);
    }

    [Fact]
    public void Data_of_another_class_count_or_none_at_all_is_refused()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        var fiveClasses = new LabeledImages(new byte[2 * 784], new byte[] { 0, 4 }, 28, 28, 1, 5);
        var none = new LabeledImages(Array.Empty<byte>(), Array.Empty<byte>(), 28, 28, 1, 10);

        Refused.Assert<ArgumentException>(() => trainer.Evaluate(fiveClasses, 8), "data", "Mlp trains with categorical_crossentropy: the images have 5 classes; the model predicts 10");
        Refused.Assert<ArgumentException>(() => trainer.Predict(none, 8), "data", "the data set is empty");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 0)), "batchSize", "Mlp was built for batches of 1 to 8");
    }

    [Fact]
    public void Predict_on_spans_gives_the_trainers_answers_and_allocates_nothing_once_warm()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        var expected = trainer.Predict(_data, 8);
        var pixels = _data.PixelsAsFloat32();

        var one = new float[10];
        model.Predict(pixels.AsSpan(0, 784), one);
        Assert.Equal(expected.AsSpan(0, 10).ToArray(), one);
        var five = new float[50];
        model.Predict(pixels.AsSpan(784, 5 * 784), five);
        Assert.Equal(expected.AsSpan(10, 50).ToArray(), five);

        // Warm: the runtime itself may allocate on this thread while it recompiles the path (tiered JIT), once; a call
        // that allocates does so every time, so the fewest bytes over a few windows of ten calls must be none.
        for (int i = 0; i < 50; i++)
            model.Predict(pixels.AsSpan(784, 5 * 784), five);
        long fewest = long.MaxValue;
        for (int window = 0; window < 3 && fewest > 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++)
                model.Predict(pixels.AsSpan(784, 5 * 784), five);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, fewest);

        Refused.Assert<ArgumentException>(() => model.Predict(pixels.AsSpan(0, 9 * 784), new float[90]), "inputs", "Mlp takes 1 to 8 samples of 784 floats");
        Refused.Assert<ArgumentException>(() => model.Predict(pixels.AsSpan(0, 784), new float[9]), "predictions", "1 samples need 10 predictions");
    }

    [Fact]
    public void A_disposed_trainer_model_or_backend_is_refused_before_any_kernel_runs()
    {
        var options = new FitOptions(1, 8);
        var (model, trainer) = Make();
        trainer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => trainer.Fit(_data, options));
        model.Dispose();

        (model, trainer) = Make();
        model.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => trainer.Evaluate(_data, 8));
        Assert.Equal(typeof(Mlp).FullName, e.ObjectName);

        using var backend = new ManagedBackend();
        using var onDisposed = new Mlp(backend, 8);
        using var trainer2 = new Trainer(onDisposed, new Adam());
        backend.Dispose();
        e = Assert.Throws<ObjectDisposedException>(() => trainer2.Predict(_data, 8));
        Assert.Contains("Mlp runs on the managed backend, which was disposed", e.Message, StringComparison.Ordinal);
        Assert.True(backend.IsDisposed);
    }

    [Fact]
    public void Fit_options_that_cannot_run_are_refused_naming_the_option()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(0, 8)), "options", "FitOptions.Epochs must be at least 1");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 9)), "batchSize", "Mlp was built for batches of 1 to 8");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 8, ValidationSplit: 1.5)), "fraction", "validation_split must be in (0, 1)");
        Refused.Assert<ArgumentNullException>(() => trainer.Evaluate(null!, 8), "data", "");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 8, Shift: -1)), "options", "FitOptions.Shift must be 0 or more");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 8, Shift: 28)), "options", "less than the images' 28x28 size");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 8, Rotation: -5)), "options", "FitOptions.Rotation is the largest turn in degrees, from 0 to 180");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 8, Rotation: float.NaN)), "options", "from 0 to 180");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 8, Zoom: 1)), "options", "FitOptions.Zoom is the largest change of scale");
        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(_data, new FitOptions(1, 8, Zoom: -0.1f)), "options", "at least 0 and less than 1");
        Assert.Equal(0, trainer.Optimizer.Iterations);
    }

    [Fact]
    public void Moved_training_images_follow_the_seed_and_change_training_but_not_evaluation()
    {
        (float[] Weights, double Loss) Run(int shift, ulong fitSeed, float rotation = 0, float zoom = 0)
        {
            var (model, trainer) = Make();
            using (model)
            using (trainer)
            {
                trainer.Fit(_data, new FitOptions(Epochs: 2, BatchSize: 8, Seed: fitSeed, Shift: shift, Rotation: rotation, Zoom: zoom));
                return (_backend.ToArray(model.ParameterArena), trainer.Evaluate(_data, 8).Loss);
            }
        }

        var shifted = Run(2, 1);
        Assert.Equal(shifted.Weights, Run(2, 1).Weights);
        Assert.NotEqual(shifted.Weights, Run(0, 1).Weights);
        Assert.NotEqual(shifted.Weights, Run(2, 3).Weights);
        // A turn and a zoom change training too, the same way for the same seed.
        var turned = Run(2, 1, rotation: 10, zoom: 0.1f);
        Assert.Equal(turned.Weights, Run(2, 1, rotation: 10, zoom: 0.1f).Weights);
        Assert.NotEqual(shifted.Weights, turned.Weights);
        Assert.NotEqual(turned.Weights, Run(2, 1, rotation: 10).Weights);

        // Evaluation sees the images as they are: the same weights give the same loss whatever the fit shifted.
        var (model, trainer) = Make();
        using (model)
        using (trainer)
        {
            _backend.Upload(shifted.Weights, model.ParameterArena);
            Assert.Equal(shifted.Loss, trainer.Evaluate(_data, 8).Loss);
        }
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int k = 1; k < row.Length; k++)
            best = row[k] > row[best] ? k : best;
        return best;
    }

    private sealed class Recorder : ITrainingObserver
    {
        public List<(int Epoch, int Epochs, int Batches)> Started { get; } = [];
        public List<(int Epoch, int Batch, double Loss, double Accuracy, double ImagesPerSecond)> Batches { get; } = [];
        public List<EpochMetrics> Completed { get; } = [];
        public Action<int>? AfterBatch { get; init; }

        public void EpochStarted(int epoch, int epochs, int batches) => Started.Add((epoch, epochs, batches));

        public void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
            Batches.Add((epoch, batch, running["loss"], running["accuracy"], samplesPerSecond));
            AfterBatch?.Invoke(batch);
        }

        public void EpochCompleted(EpochMetrics metrics) => Completed.Add(metrics);
    }
}

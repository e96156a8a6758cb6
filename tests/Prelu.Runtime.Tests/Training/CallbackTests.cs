using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Training;

/// <summary>
/// Keras's EarlyStopping, ReduceLROnPlateau and ModelCheckpoint: what each does to a fit, with Keras's rules, and that a
/// fit with callbacks stopped mid-epoch and resumed ends with the very bits of one never stopped.
/// </summary>
public sealed class CallbackTests : IDisposable
{
    private readonly ManagedBackend _backend = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-callbacks-").FullName;

    // Sixteen samples of noise to learn by heart and sixteen more to validate on: the validation loss falls, then rises.
    private readonly Dataset _noise = new(Det.Floats(32 * 5, 81), [5], Det.Floats(32 * 2, 82), targetLength: 2);

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static FitOptions Options(params Callback[] callbacks) =>
        new(Epochs: 150, BatchSize: 8, ValidationSplit: 0.5, Seed: 3, ProgressInterval: TimeSpan.Zero, Callbacks: callbacks);

    private (RegressionNet Model, Trainer Trainer) Make(float rate = 0.03f)
    {
        var model = new RegressionNet(_backend, 8);
        model.Initialize(7);
        return (model, new Trainer(model, new Adam(new AdamSettings(LearningRate: rate))));
    }

    [Fact]
    public void Early_stopping_stops_patience_epochs_after_the_best_and_restores_its_weights()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        var data = _noise;

        #region readme: callbacks
        var stopping = new EarlyStopping("val_loss", patience: 3, restoreBestWeights: true);
        var history = trainer.Fit(data, new FitOptions(Epochs: 150, BatchSize: 8, ValidationSplit: 0.5, Seed: 3, Callbacks: [stopping]));
        #endregion

        var validation = history.Of("val_loss").ToList();
        int best = validation.IndexOf(validation.Min()) + 1;
        Assert.True(history.Epochs.Count < 150, "the validation loss never rose for three epochs");
        Assert.Equal(best, stopping.BestEpoch);
        Assert.Equal(best + 3, stopping.StoppedEpoch);
        Assert.Equal(stopping.StoppedEpoch, history.Epochs.Count);
        // The weights are the best epoch's again: they give its validation loss to the bit.
        Assert.Equal(validation[best - 1], trainer.Evaluate(_noise.Slice(16, 16), 8).Loss);
    }

    [Fact]
    public void Without_restoring_the_weights_stay_the_last_epochs_and_min_delta_asks_for_a_real_improvement()
    {
        var plain = new EarlyStopping("val_loss", patience: 2);
        var (model, trainer) = Make();
        using (model)
        using (trainer)
        {
            var history = trainer.Fit(_noise, Options(plain));
            Assert.Equal(history.Epochs[^1].ValidationLoss!.Value, trainer.Evaluate(_noise.Slice(16, 16), 8).Loss);
        }

        // A min_delta larger than any epoch's gain: no epoch after the first counts as better.
        var strict = new EarlyStopping("loss", minDelta: 10, patience: 4);
        var (model2, trainer2) = Make();
        using (model2)
        using (trainer2)
        {
            var history = trainer2.Fit(_noise, Options(strict));
            Assert.Equal(1, strict.BestEpoch);
            Assert.Equal(5, history.Epochs.Count);
        }
    }

    [Fact]
    public void Reduce_lr_on_plateau_follows_keras_patience_cooldown_and_floor()
    {
        var reduce = new ReduceLROnPlateau("val_loss", factor: 0.5f, patience: 2, cooldown: 1, minLearningRate: 0.02f);
        using var model = new RegressionNet(_backend, 8);
        using var adam = new Adam(new AdamSettings(LearningRate: 0.1f));
        reduce.FitStarted(model, adam);
        var rates = new List<float?>();
        // val_loss: better, better, then flat for good
        foreach (var (epoch, loss) in new[] { (1, 5.0), (2, 4.0), (3, 4.0), (4, 4.0), (5, 4.0), (6, 4.0), (7, 4.0), (8, 4.0), (9, 4.0) })
        {
            reduce.EpochEnded(new EpochMetrics(epoch, new Dictionary<string, double> { ["loss"] = 1, ["val_loss"] = loss }, 1, 1), model, adam);
            rates.Add(adam.LearningRateOverride);
        }
        // Two flat epochs (3, 4) halve it; a cooldown epoch (5, which still counts one flat epoch after it ends, as Keras
        // counts) and one more (6) halve it again; at epoch 8 half of 0.025 would be below the floor: 0.02, and no lower.
        Assert.Equal([null, null, null, 0.05f, 0.05f, 0.025f, 0.025f, 0.02f, 0.02f], rates);
        Assert.Throws<ArgumentException>(() => reduce.FitStarted(model, new Adam { Schedule = new ExponentialDecay(0.1f, 10, 0.9f) }));
    }

    [Fact]
    public void Model_checkpoint_saves_the_best_epoch_only_when_asked()
    {
        var path = Path.Combine(_folder, "best.safetensors");
        var saving = new ModelCheckpoint(path, "val_loss", saveBestOnly: true);
        var stopping = new EarlyStopping("val_loss", patience: 3);
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;

        var history = trainer.Fit(_noise, Options(saving, stopping));

        using var saved = new RegressionNet(_backend, 8);
        Checkpoint.Load(path, saved);
        using var savedTrainer = new Trainer(saved, new Adam());
        Assert.Equal(history.Of("val_loss").Min(), savedTrainer.Evaluate(_noise.Slice(16, 16), 8).Loss);
    }

    [Fact]
    public void A_fit_with_callbacks_stopped_mid_epoch_resumes_to_the_bits_of_one_never_stopped()
    {
        Callback[] Callbacks(string name) =>
        [
            new ReduceLROnPlateau("val_loss", factor: 0.5f, patience: 1),
            new ModelCheckpoint(Path.Combine(_folder, name + "-best.safetensors"), saveBestOnly: true),
            new EarlyStopping("val_loss", patience: 4, restoreBestWeights: true),
        ];
        (float[] Weights, string History, float? Rate, int Stopped) Run(string name, FitOptions options, ITrainingObserver? observer = null, CancellationToken token = default)
        {
            var (model, trainer) = Make();
            using (model)
            using (trainer)
            {
                var history = trainer.Fit(_noise, options, observer, token);
                var stopping = (EarlyStopping)options.Callbacks![2];
                string text = string.Join("\n", history.Epochs.Select(e => string.Join(" ", e.Metrics.Select(m => $"{m.Key}={m.Value:R}"))));
                return (_backend.ToArray(model.ParameterArena), text, trainer.Optimizer.LearningRateOverride, stopping.StoppedEpoch);
            }
        }

        var expected = Run("whole", Options(Callbacks("whole")));
        Assert.True(expected.Stopped > 0 && expected.Rate < 0.03f, "the fit should have lowered its rate and stopped early");

        var path = Path.Combine(_folder, "run.safetensors");
        using var cancel = new CancellationTokenSource();
        var stoppedAt = expected.Stopped - 2; // after the rate was lowered, before the stop
        Assert.Throws<TrainingInterruptedException>(() =>
            Run("stopped", Options(Callbacks("stopped")) with { CheckpointPath = path }, new StopAt(stoppedAt, 1, cancel), cancel.Token));
        var resumed = Run("stopped", Options(Callbacks("stopped")) with { CheckpointPath = path, Resume = true });

        Assert.Equal(expected.Weights, resumed.Weights);
        Assert.Equal(expected.History, resumed.History);
        Assert.Equal(expected.Rate, resumed.Rate);
        Assert.Equal(expected.Stopped, resumed.Stopped);
        Assert.Equal(SafeTensors.Read(Path.Combine(_folder, "whole-best.safetensors")).Values.Select(t => t.Values),
            SafeTensors.Read(Path.Combine(_folder, "stopped-best.safetensors")).Values.Select(t => t.Values));

        // Resuming a fit its callbacks ended trains nothing more; resuming it without them is refused.
        Assert.Equal(expected.Weights, Run("stopped", Options(Callbacks("stopped")) with { CheckpointPath = path, Resume = true }).Weights);
        var error = Assert.Throws<CheckpointMismatchException>(() => Run("bare", Options() with { CheckpointPath = path, Resume = true }));
        Assert.Equal("__metadata__.trainer.callbacks", error.Tensor);
    }

    [Fact]
    public void A_callback_watching_a_metric_the_fit_does_not_report_names_those_it_does()
    {
        var (model, trainer) = Make();
        using var _ = model;
        using var __ = trainer;
        var error = Assert.Throws<InvalidOperationException>(() =>
            trainer.Fit(_noise, Options(new EarlyStopping("val_accuracy")) with { ValidationSplit = 0 }));
        Assert.Equal("early_stopping watches 'val_accuracy', which the fit does not report; it reports loss, mae, mse, rmse " +
            "(a val_ metric needs FitOptions.ValidationSplit)", error.Message);
        Assert.Throws<ArgumentException>(() => trainer.Fit(_noise, Options(new EarlyStopping(), new EarlyStopping("loss"))));
    }

    private sealed class StopAt(int epoch, int batch, CancellationTokenSource source) : ITrainingObserver
    {
        public void EpochStarted(int e, int epochs, int batches)
        {
        }

        public void BatchCompleted(int e, int b, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
            if (e == epoch && b == batch)
                source.Cancel();
        }

        public void EpochCompleted(EpochMetrics metrics)
        {
        }
    }
}

using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Training;

/// <summary>
/// A fit that is stopped and resumed ends with the very bits of one that never stopped: weights, Adam's
/// state and step, BatchNormalization's moving statistics, a learning-rate schedule's place, the history
/// (everything but wall times). Stopped by cancellation mid-epoch (the checkpoint
/// written then) and by a kill after an epoch (the per-epoch checkpoint, copied as it stood). Also: a
/// checkpoint of another fit is refused before anything changes, and a NaN is traced to its layer.
/// </summary>
public sealed class ResumeTests : IDisposable
{
    private const int Images = 60, Batch = 8, Epochs = 3;
    private readonly ManagedBackend _backend = new();
    private readonly LabeledImages _data;
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-resume-").FullName;

    public ResumeTests()
    {
        var pixels = Det.Floats(Images * 784, 11, 0, 256).Select(v => (byte)v).ToArray();
        var labels = Enumerable.Range(0, Images).Select(i => (byte)(i * 3 % 10)).ToArray();
        _data = new LabeledImages(pixels, labels, 28, 28, 1, 10);
    }

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    // The normalised runs augment their images (a shift, a turn and a zoom), whose draws a resumed run must repeat.
    private static FitOptions Options(string? checkpoint = null, bool resume = false, int shift = 0) =>
        new(Epochs, Batch, ValidationSplit: 0.2, Seed: 7, ProgressInterval: TimeSpan.Zero, CheckpointPath: checkpoint, Resume: resume, Shift: shift,
            Rotation: shift == 0 ? 0 : 12, Zoom: shift == 0 ? 0 : 0.15f);

    private sealed record Outcome(float[] Weights, float[] States, float[] M, float[] V, long Steps, List<(double, double, double?, double?)> History);

    /// <summary>The plain MLP with Adam, or (<paramref name="normalized"/>) one with BatchNormalization and Adam on a decaying schedule.</summary>
    private Outcome Train(FitOptions options, ITrainingObserver? observer = null, bool normalized = false, CancellationToken token = default)
    {
        using Prelu.CompiledModel model = normalized ? new BatchNormMlp(_backend, Batch) : new Mlp(_backend, Batch);
        model.Initialize(3);
        using var optimizer = normalized ? new Adam { Schedule = new ExponentialDecay(0.01f, 5, 0.7f) } : new Adam();
        using var trainer = new Trainer(model, optimizer);
        var history = trainer.Fit(_data, options, observer, token);
        var state = optimizer.State(model);
        return new Outcome(_backend.ToArray(model.ParameterArena), _backend.ToArray(model.StateArena), _backend.ToArray(state[0].Buffer),
            _backend.ToArray(state[1].Buffer), optimizer.Iterations,
            history.Epochs.Select(e => (e.Loss, e.Accuracy, e.ValidationLoss, e.ValidationAccuracy)).ToList());
    }

    private static void AssertSameBits(Outcome expected, Outcome actual)
    {
        Assert.Equal(expected.Steps, actual.Steps);
        Assert.True(expected.Weights.AsSpan().SequenceEqual(actual.Weights), "weights differ");
        Assert.True(expected.States.AsSpan().SequenceEqual(actual.States), "moving statistics differ");
        Assert.True(expected.M.AsSpan().SequenceEqual(actual.M), "Adam's m differs");
        Assert.True(expected.V.AsSpan().SequenceEqual(actual.V), "Adam's v differs");
        Assert.Equal(expected.History, actual.History);
    }

    /// <summary>Cancels the fit when it reaches a given batch of a given epoch.</summary>
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Cancelled_mid_epoch_and_resumed_it_ends_with_the_bits_of_a_run_never_stopped(bool normalized)
    {
        int shift = normalized ? 2 : 0; // the normalised run also moves its images
        var expected = Train(Options(shift: shift), normalized: normalized);
        var path = Path.Combine(_folder, "run.safetensors");

        using var cancel = new CancellationTokenSource();
        var stopped = Assert.Throws<TrainingInterruptedException>(() => Train(Options(path, shift: shift), new StopAt(2, 3, cancel), normalized, cancel.Token));
        Assert.Equal((2, 3, path), (stopped.Epoch, stopped.Batch, stopped.CheckpointPath));
        Assert.Contains("before batch 4 of epoch 2", stopped.Message, StringComparison.Ordinal);

        AssertSameBits(expected, Train(Options(path, resume: true, shift: shift), normalized: normalized));
        // Resuming a finished run trains nothing more and returns its history.
        AssertSameBits(expected, Train(Options(path, resume: true, shift: shift), normalized: normalized));
    }

    [Fact]
    public void A_checkpoint_written_before_the_error_sums_joined_the_metrics_resumes_to_the_same_bits()
    {
        var expected = Train(Options());
        var path = Path.Combine(_folder, "run.safetensors");
        using var cancel = new CancellationTokenSource();
        Assert.Throws<TrainingInterruptedException>(() => Train(Options(path), new StopAt(2, 3, cancel), token: cancel.Token));
        // As an earlier version wrote it: the epoch's running loss and accuracy sums only, and a history line per epoch of
        // "epoch loss accuracy val_loss val_accuracy seconds rate" (now "epoch seconds rate name=value ...").
        var (tensors, metadata) = SafeTensors.ReadWithMetadata(path);
        var written = tensors.Values.Select(t => t.Name == "trainer.metrics" ? t with { Shape = [2], Values = t.Values[..2] } : t).ToList();
        Assert.Contains(written, t => t.Name == "trainer.metrics");
        var old = metadata.ToDictionary(m => m.Key, m => m.Value);
        old["trainer.history"] = string.Join('\n', metadata["trainer.history"].Split('\n').Select(line =>
        {
            var f = line.Split(' ');
            var named = f[3..].Select(pair => pair.Split('=')).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], named.Keys);
            return string.Join(' ', f[0], named["loss"], named["accuracy"], named["val_loss"], named["val_accuracy"], f[1], f[2]);
        }));
        SafeTensors.Write(path, written, old);

        AssertSameBits(expected, Train(Options(path, resume: true)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Killed_after_an_epoch_and_resumed_from_its_checkpoint_it_ends_with_the_same_bits(bool normalized)
    {
        int shift = normalized ? 2 : 0;
        var expected = Train(Options(shift: shift), normalized: normalized);
        var path = Path.Combine(_folder, "run.safetensors");
        var afterEpoch1 = Path.Combine(_folder, "after-epoch-1.safetensors");
        Train(Options(path, shift: shift), new CopyAfterEpoch(1, path, afterEpoch1), normalized: normalized); // what a kill in epoch 2 would have left

        AssertSameBits(expected, Train(Options(afterEpoch1, resume: true, shift: shift), normalized: normalized));
        // A run that shifts its images cannot continue as one that does not.
        if (normalized)
        {
            var error = Assert.Throws<CheckpointMismatchException>(() => Train(Options(afterEpoch1, resume: true), normalized: true));
            Assert.Equal("__metadata__.trainer.shift", error.Tensor);
        }
    }

    private sealed class CopyAfterEpoch(int epoch, string from, string to) : ITrainingObserver
    {
        public void EpochStarted(int e, int epochs, int batches)
        {
        }

        public void BatchCompleted(int e, int b, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
        }

        public void EpochCompleted(EpochMetrics metrics)
        {
            if (metrics.Epoch == epoch)
                File.Copy(from, to);
        }
    }

    [Fact]
    public void Resume_without_a_checkpoint_starts_afresh_and_without_a_path_is_refused()
    {
        var expected = Train(Options());
        AssertSameBits(expected, Train(Options(Path.Combine(_folder, "none-yet.safetensors"), resume: true)));
        var e = Assert.Throws<ArgumentException>(() => Train(Options() with { Resume = true }));
        Assert.Contains("Resume needs FitOptions.CheckpointPath", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("batch size", "trainer.batch_size")]
    [InlineData("fit seed", "trainer.fit_seed")]
    [InlineData("model seed", "seed")]
    [InlineData("rotation", "trainer.rotation")]
    [InlineData("zoom", "trainer.zoom")]
    public void A_checkpoint_of_another_fit_is_refused_before_anything_changes(string change, string field)
    {
        var path = Path.Combine(_folder, "run.safetensors");
        Train(Options(path) with { Epochs = 1 });

        using var model = new Mlp(_backend, Batch);
        model.Initialize(change == "model seed" ? 4UL : 3UL);
        var before = _backend.ToArray(model.ParameterArena);
        using var optimizer = new Adam();
        using var trainer = new Trainer(model, optimizer);
        var options = change switch
        {
            "batch size" => Options(path, resume: true) with { BatchSize = 4 },
            "fit seed" => Options(path, resume: true) with { Seed = 8 },
            "rotation" => Options(path, resume: true) with { Rotation = 5 },
            "zoom" => Options(path, resume: true) with { Zoom = 0.05f },
            _ => Options(path, resume: true),
        };
        var error = Assert.Throws<CheckpointMismatchException>(() => trainer.Fit(_data, options));
        Assert.Equal(path, error.FilePath);
        Assert.Equal($"__metadata__.{field}", error.Tensor);
        Assert.Equal(before, _backend.ToArray(model.ParameterArena));
    }

    [Theory]
    [InlineData("dense_1.kernel", float.NaN)]
    [InlineData("dense.bias", float.PositiveInfinity)]
    public void A_nan_in_a_layers_weights_stops_the_run_naming_that_layer_and_keeps_the_last_checkpoint(string parameter, float bad)
    {
        var path = Path.Combine(_folder, "run.safetensors");
        using var model = new Mlp(_backend, Batch);
        model.Initialize(3);
        using var optimizer = new Adam();
        using var trainer = new Trainer(model, optimizer);
        trainer.Fit(_data, Options(path) with { Epochs = 1 });
        var kept = File.ReadAllBytes(path);

        var values = model.GetParameter(parameter);
        values[values.Length / 2] = bad;
        model.SetParameter(parameter, values);
        // Training on (not resuming: that would load the good weights back) with the damaged weights.
        var fault = Assert.Throws<NumericalFaultException>(() => trainer.Fit(_data, Options(path)));

        Assert.Equal(parameter, fault.Tensor);
        string layer = parameter[..parameter.IndexOf('.', StringComparison.Ordinal)];
        Assert.Contains($"the parameter {parameter} of layer {layer} (1 of ", fault.Message, StringComparison.Ordinal);
        Assert.Contains("the loss (NaN) is not finite", fault.Message, StringComparison.Ordinal);
        Assert.Equal((1, 0), (fault.Epoch, fault.Batch));
        Assert.Contains($"{path} still holds the run as it was after epoch 0", fault.Message, StringComparison.Ordinal);
        Assert.Equal(kept, File.ReadAllBytes(path));
    }

    [Fact]
    public void Weights_that_overflow_a_layers_output_are_traced_to_that_output()
    {
        using var model = new Mlp(_backend, Batch);
        model.Initialize(3);
        using var trainer = new Trainer(model, new Adam());
        // Finite weights whose products overflow: the parameters pass, dense's output holds Inf.
        model.SetParameter("dense.kernel", Enumerable.Repeat(3e38f, model.GetParameter("dense.kernel").Length).ToArray());

        var fault = Assert.Throws<NumericalFaultException>(() => trainer.Fit(_data, Options()));

        Assert.Equal("output of dense", fault.Tensor);
        Assert.Contains("the first tensor holding one is the output of layer dense (", fault.Message, StringComparison.Ordinal);
    }
}

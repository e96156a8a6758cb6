using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Data;

// Three yes/no labels of a 4x4 image, with the width to learn linear ones.
[InputShape(4, 4, 1)]
[Loss("binary_crossentropy")]
[Flatten]
[Dense(16, Activation = "relu")]
[Dense(3, Activation = "sigmoid")]
public partial class MultiLabelMlp;

/// <summary>
/// Float data of any shape, as Keras's fit(x, y) takes it: checked once when built (every refusal names the argument,
/// the row and the column), batches in the form each loss reads, Keras's validation split, and training on it.
/// </summary>
public sealed class DatasetTests : IDisposable
{
    private readonly ManagedBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    // y = (x0 - x1 + 0.5 x2, tanh(x3 + x4)) over five features: what RegressionNet can learn.
    private static Dataset Regression(int count, ulong seed)
    {
        var x = Det.Floats(count * 5, seed);
        var y = new float[count * 2];
        for (int i = 0; i < count; i++)
        {
            var r = x.AsSpan(i * 5, 5);
            y[2 * i] = r[0] - r[1] + 0.5f * r[2];
            y[2 * i + 1] = MathF.Tanh(r[3] + r[4]);
        }
        return new Dataset(x, [5], y, targetLength: 2);
    }

    [Fact]
    public void A_regression_fits_its_data_evaluates_and_predicts()
    {
        var data = Regression(200, 1);
        using var model = new RegressionNet(_backend, 16);
        model.Initialize(3);
        using var trainer = new Trainer(model, new Adam(new AdamSettings(LearningRate: 0.01f)));

        var history = trainer.Fit(data, new FitOptions(Epochs: 30, BatchSize: 16, ValidationSplit: 0.2, Seed: 4));

        Assert.True(history.Epochs[^1].Loss < 0.1 * history.Epochs[0].Loss,
            $"the mean squared error went from {history.Epochs[0].Loss} to {history.Epochs[^1].Loss}");
        Assert.True(history.Epochs[^1].ValidationLoss < 0.02, $"validation loss {history.Epochs[^1].ValidationLoss}");
        var (loss, _) = trainer.Evaluate(data.Slice(160, 40), 16);
        Assert.Equal(history.Epochs[^1].ValidationLoss!.Value, loss, 6); // the validation part is the last 20%
        var predictions = trainer.Predict(data, 16);
        Assert.Equal(200 * 2, predictions.Length);
        double mse = predictions.Select((p, i) => (p - data.Targets.Span[i]) * (double)(p - data.Targets.Span[i])).Average();
        Assert.InRange(mse, 0, 0.02);
    }

    [Fact]
    public void A_regression_reports_keras_error_metrics_by_name_and_a_stopped_fit_resumes_to_the_same_bits()
    {
        var data = Regression(60, 3);
        var options = new FitOptions(Epochs: 3, BatchSize: 8, ValidationSplit: 0.2, Seed: 2, ProgressInterval: TimeSpan.Zero);
        (float[] Weights, History History, Evaluation Test) Train(FitOptions fit, CancellationToken token = default, ITrainingObserver? observer = null)
        {
            using var model = new RegressionNet(_backend, 8);
            model.Initialize(5);
            using var trainer = new Trainer(model, new Adam());
            var history = trainer.Fit(data, fit, observer, token);
            return (_backend.ToArray(model.ParameterArena), history, trainer.Evaluate(data.Slice(48, 12), 8));
        }

        var (weights, history, test) = Train(options);

        var last = history.Epochs[^1];
        Assert.Equal(["loss", "mae", "mse", "rmse", "val_loss", "val_mae", "val_mse", "val_rmse"], last.Metrics.Keys);
        Assert.Equal(last.Metrics["mse"], last.Loss, 6); // no penalties: the loss is the squared error
        Assert.Equal(Math.Sqrt(last.Metrics["val_mse"]), last.Metrics["val_rmse"], 12);
        Assert.True(last.Metrics["mae"] <= last.Metrics["rmse"] + 1e-9);
        Assert.True(double.IsNaN(last.Accuracy));
        Assert.Equal(history.Of("val_mae").Last(), test.Metrics["mae"], 12); // the validation part is the last 20%
        Assert.Equal(3, history.Of("rmse").Count());
        Assert.Throws<KeyNotFoundException>(() => history.Of("accuracy").ToList());

        var path = Path.Combine(Path.GetTempPath(), $"prelu-regression-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var cancel = new CancellationTokenSource();
            Assert.Throws<TrainingInterruptedException>(() => Train(options with { CheckpointPath = path }, cancel.Token, new StopAt(2, 3, cancel)));
            var resumed = Train(options with { CheckpointPath = path, Resume = true });
            Assert.Equal(weights, resumed.Weights);
            Assert.Equal(history.Epochs.Select(e => e.Metrics.ToArray()), resumed.History.Epochs.Select(e => e.Metrics.ToArray()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class StopAt(int epoch, int batch, CancellationTokenSource source) : ITrainingObserver
    {
        public void EpochStarted(int e, int epochs, int batches)
        {
        }

        public void BatchCompleted(int e, int b, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
            Assert.Equal(["loss", "mae", "mse", "rmse"], running.Keys); // a regression's: no accuracy
            if (e == epoch && b == batch)
                source.Cancel();
        }

        public void EpochCompleted(EpochMetrics metrics)
        {
        }
    }

    [Fact]
    public void The_same_seeds_give_the_same_bits()
    {
        float[] Train()
        {
            using var model = new RegressionNet(_backend, 16);
            model.Initialize(3);
            using var trainer = new Trainer(model, new Adam());
            trainer.Fit(Regression(50, 2), new FitOptions(Epochs: 2, BatchSize: 16, Seed: 9));
            return _backend.ToArray(model.ParameterArena);
        }

        Assert.Equal(Train(), Train());
    }

    [Fact]
    public void Two_classes_as_indices_train_a_yes_no_model_and_labels_as_floats_a_multi_label_one()
    {
        var x = Det.Floats(64 * 5, 5);
        var yes = Enumerable.Range(0, 64).Select(i => x[i * 5] + x[i * 5 + 1] > 0 ? 1 : 0).ToArray();
        using var binary = new BinaryNet(_backend, 16);
        binary.Initialize(1);
        using var binaryTrainer = new Trainer(binary, new Adam(new AdamSettings(LearningRate: 0.02f)));
        var history = binaryTrainer.Fit(new Dataset(x, [5], yes, classCount: 2), new FitOptions(Epochs: 40, BatchSize: 16, Seed: 1));
        Assert.True(history.Epochs[^1].Accuracy >= 0.9, $"binary accuracy {history.Epochs[^1].Accuracy}");

        // Three labels, each whether a fixed weighting of the pixels is above its median: half the labels are 1.
        var images = Det.Floats(48 * 16, 6, 0, 1);
        var weights = Det.Floats(3 * 16, 8);
        var scores = new float[3][];
        for (int k = 0; k < 3; k++)
            scores[k] = Enumerable.Range(0, 48).Select(i => Enumerable.Range(0, 16).Sum(j => weights[k * 16 + j] * images[i * 16 + j])).ToArray();
        var labels = new float[48 * 3];
        for (int k = 0; k < 3; k++)
        {
            float median = scores[k].Order().ElementAt(24);
            for (int i = 0; i < 48; i++)
                labels[3 * i + k] = scores[k][i] >= median ? 1 : 0;
        }
        using var multi = new MultiLabelMlp(_backend, 16);
        multi.Initialize(1);
        using var multiTrainer = new Trainer(multi, new Adam(new AdamSettings(LearningRate: 0.02f)));
        var multiHistory = multiTrainer.Fit(new Dataset(images, [4, 4, 1], labels, targetLength: 3), new FitOptions(Epochs: 100, BatchSize: 16, Seed: 1));
        // Keras's binary accuracy: the share of labels right at a 0.5 threshold
        Assert.True(multiHistory.Epochs[^1].Accuracy >= 0.9, $"multi-label accuracy {multiHistory.Epochs[^1].Accuracy}, loss {multiHistory.Epochs[0].Loss} -> {multiHistory.Epochs[^1].Loss}, {labels.Average()} of the labels 1");
        Assert.True(multiHistory.Epochs[^1].Loss < 0.6 * multiHistory.Epochs[0].Loss, "the loss should fall");
    }

    [Fact]
    public void Batches_come_in_the_form_each_loss_reads()
    {
        var features = new float[] { 1, 2, 3, 4, 5, 6 };
        var classes = new Dataset(features, [2], new[] { 2, 0, 1 }, classCount: 3);
        var samples = new float[4];

        var oneHot = new float[6];
        classes.GatherBatch([2, 0], samples, oneHot, LossFunction.CategoricalCrossentropy, 3);
        Assert.Equal(new float[] { 5, 6, 1, 2 }, samples);
        Assert.Equal(new float[] { 0, 1, 0, 0, 0, 1 }, oneHot);

        var indices = new float[2];
        classes.GatherBatch([2, 0], samples, indices, LossFunction.SparseCategoricalCrossentropy, 3);
        Assert.Equal(new float[] { 1, 2 }, indices);

        var values = new Dataset(features, [2], new float[] { 0.5f, -1, 2, 7, 8, 9 }, targetLength: 2);
        var targets = new float[4];
        values.GatherBatch([1, 2], samples, targets, LossFunction.Huber(), 2);
        Assert.Equal(new float[] { 3, 4, 5, 6 }, samples);
        Assert.Equal(new float[] { 2, 7, 8, 9 }, targets);
    }

    [Fact]
    public void The_validation_split_is_the_last_fraction_and_slices_share_the_memory()
    {
        var features = Enumerable.Range(0, 30).Select(i => (float)i).ToArray();
        var data = new Dataset(features, [3], Enumerable.Range(0, 10).Select(i => (float)i).ToArray());

        var (train, validation) = data.SplitValidation(0.25);

        Assert.Equal((7, 3), (train.Count, validation.Count)); // Keras: int(10 * (1 - 0.25)) = 7
        Assert.Equal(new float[] { 7, 8, 9 }, validation.Targets.ToArray());
        Assert.Equal(21f, validation.Features.Span[0]);
        features[21] = -1;
        Assert.Equal(-1f, validation.Features.Span[0]);
    }

    public static TheoryData<string, Func<Dataset>, string, string> BadInputs => new()
    {
        { "NaN feature", () => new Dataset(new float[] { 1, 2, 3, float.NaN }, [2], new float[2]), "features", "features: row 1, column 1 is NaN; every value must be a finite number" },
        { "infinite target", () => new Dataset(new float[4], [2], new float[] { 0, 1, float.PositiveInfinity, 0 }, 2), "targets", "targets: row 1, column 0 is Infinity; every value must be a finite number" },
        { "ragged features", () => new Dataset(new float[5], [2], new float[2]), "features", "features holds 5 floats, not a whole number of samples of 2" },
        { "too few targets", () => new Dataset(new float[6], [2], new float[5], 2), "targets", "targets holds 5 floats; 3 samples need 6 (2 each)" },
        { "class outside", () => new Dataset(new float[6], [3, 1], new[] { 1, 3 }, 3), "classes", "classes: row 1 is 3, outside the classes 0 to 2" },
        { "negative class", () => new Dataset(new float[6], [3], new[] { -1, 0 }, 3), "classes", "classes: row 0 is -1, outside the classes 0 to 2" },
        { "classes miscounted", () => new Dataset(new float[6], [3], new[] { 1 }, 3), "classes", "classes holds 1 values; 2 samples need one each" },
        { "empty", () => new Dataset(ReadOnlyMemory<float>.Empty, [3], ReadOnlyMemory<float>.Empty), "features", "features is empty: a data set needs at least one sample" },
        { "no shape", () => new Dataset(new float[3], [], new float[3]), "sampleShape", "sampleShape () needs one or more sizes of at least 1" },
        { "zero size", () => new Dataset(new float[3], [3, 0], new float[3]), "sampleShape", "sampleShape (3, 0) needs one or more sizes of at least 1" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_data_is_refused_when_built_naming_the_argument_row_and_column(string what, Func<Dataset> build, string parameter, string message)
    {
        var error = Assert.Throws<ArgumentException>(build);
        Assert.Equal(parameter, error.ParamName);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Fact]
    public void A_validation_split_leaving_no_training_sample_is_refused_before_training()
    {
        var data = new Dataset(new float[10], [5], new float[4], 2);
        using var model = new RegressionNet(_backend, 4);
        model.Initialize(1);
        var before = _backend.ToArray(model.ParameterArena);
        using var trainer = new Trainer(model, new Adam());

        Refused.Assert<ArgumentOutOfRangeException>(() => trainer.Fit(data, new FitOptions(1, 4, ValidationSplit: 0.6)), "fraction",
            "validation_split 0.6 leaves an empty training or validation set of 2 samples");
        Assert.Equal(before, _backend.ToArray(model.ParameterArena));
    }

    public static TheoryData<Type, Func<Dataset>, string> Mismatches => new()
    {
        { typeof(SparseNet), () => new Dataset(new float[10], [5], new float[8], 4), "SparseNet trains with sparse_categorical_crossentropy: sparse_categorical_crossentropy reads a class index per sample; this data has float targets of 4 per sample" },
        { typeof(SparseNet), () => new Dataset(new float[10], [5], new[] { 0, 2 }, 3), "SparseNet trains with sparse_categorical_crossentropy: the data has 3 classes; the model predicts 4" },
        { typeof(RegressionNet), () => new Dataset(new float[10], [5], new[] { 0, 1 }, 2), "RegressionNet trains with mean_squared_error: class indices are not targets for mean_squared_error, which needs float targets of 2 per sample" },
        { typeof(RegressionNet), () => new Dataset(new float[10], [5], new float[6], 3), "RegressionNet trains with mean_squared_error: the targets have 3 floats per sample; the model predicts 2" },
        { typeof(BinaryNet), () => new Dataset(new float[10], [5], new[] { 0, 2 }, 3), "BinaryNet trains with binary_crossentropy: class indices feed binary_crossentropy only as two classes for one output; the data has 3 classes and the model 1 outputs" },
        { typeof(RegressionNet), () => new Dataset(new float[8], [4], new float[4], 2), "RegressionNet takes samples of 5, the data has 4" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Targets_that_do_not_fit_the_models_loss_are_refused_before_anything_trains(Type model, Func<Dataset> build, string message)
    {
        using var compiled = TestModels.Create(model, _backend, 4);
        compiled.Initialize(1);
        var before = _backend.ToArray(compiled.ParameterArena);
        using var trainer = new Trainer(compiled, new Adam());

        Refused.Assert<ArgumentException>(() => trainer.Fit(build(), new FitOptions(1, 4)), "data", message);
        Assert.Equal(before, _backend.ToArray(compiled.ParameterArena));
    }

    [Fact]
    public void Spans_are_copied()
    {
        Span<float> features = [1, 2, 3, 4];
        var data = Dataset.Copy(features, [2], [0.5f, 1.5f]);
        features[0] = 9;
        Assert.Equal(1f, data.Features.Span[0]);
        var classes = Dataset.Copy(features, [2], (ReadOnlySpan<int>)[1, 0], 2);
        Assert.Equal(new[] { 1, 0 }, classes.Classes.ToArray());
    }

    [Fact]
    public void Moving_images_needs_labeled_images()
    {
        using var model = new RegressionNet(_backend, 4);
        model.Initialize(1);
        using var trainer = new Trainer(model, new Adam());
        foreach (var options in new[] { new FitOptions(1, 4, Shift: 1), new FitOptions(1, 4, Rotation: 10), new FitOptions(1, 4, Zoom: 0.1f) })
            Refused.Assert<ArgumentException>(() => trainer.Fit(Regression(8, 1), options), "options",
                "FitOptions.Shift, Rotation and Zoom move labeled images; this data set is not one");
    }
}

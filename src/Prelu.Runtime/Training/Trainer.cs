using System.Diagnostics;
using Prelu.Data;
using Prelu.Initializers;
using Prelu.Kernels;
using Prelu.Models;
using Prelu.Optimizers;

namespace Prelu.Training;

/// <summary>Keras's <c>fit</c> arguments.</summary>
/// <param name="ValidationSplit">The last fraction of the training set, taken before shuffling, is held out for validation (0: none).</param>
/// <param name="Seed">Seeds the shuffles (the model's own seed draws weights and dropout masks).</param>
/// <param name="ProgressInterval">How often running loss and accuracy are read back for the observer.</param>
public sealed record FitOptions(int Epochs, int BatchSize, double ValidationSplit = 0, bool Shuffle = true, ulong Seed = 0,
    TimeSpan? ProgressInterval = null);

/// <summary>
/// The training loop, with Keras's <c>fit</c> / <c>evaluate</c> / <c>predict</c> semantics, for any
/// generated model on any backend. It knows no layer and no shape beyond a sample's length: the model does.
/// The same model seed, fit seed and backend give the same history to the last bit.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly CompiledModel _model;
    private readonly Optimizer _optimizer;
    private readonly DeviceBuffer _input, _labels, _metrics;
    private readonly DeviceBuffer _fullInput, _fullLabels; // full-batch views, made once: a step allocates nothing
    private readonly float[] _hostPixels, _hostLabels, _hostMetrics = new float[MetricSlot.Count];

    public Trainer(CompiledModel model, Optimizer optimizer)
    {
        _model = model;
        _optimizer = optimizer;
        int batch = model.MaxBatchSize;
        _hostPixels = new float[batch * model.InputLength];
        _hostLabels = new float[batch * model.ClassCount];
        _input = model.Backend.Allocate(_hostPixels.Length);
        _labels = model.Backend.Allocate(_hostLabels.Length);
        _metrics = model.Backend.Allocate(MetricSlot.Count);
        _fullInput = _input.Slice(0, _input.Length);
        _fullLabels = _labels.Slice(0, _labels.Length);
    }

    // The device input and labels of a batch of `count`: the full-batch views, or (a last, shorter batch) new ones.
    private (DeviceBuffer Input, DeviceBuffer Labels) Batch(int count) => count == _model.MaxBatchSize
        ? (_fullInput, _fullLabels)
        : (_input.Slice(0, count * _model.InputLength), _labels.Slice(0, count * _model.ClassCount));

    public CompiledModel Model => _model;
    public Optimizer Optimizer => _optimizer;

    /// <summary>Trains for <see cref="FitOptions.Epochs"/> epochs and returns the history.</summary>
    public History Fit(LabeledImages data, FitOptions options, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        CheckData(data, options.BatchSize);
        var (train, validation) = options.ValidationSplit > 0 ? data.SplitValidation(options.ValidationSplit) : (data, null);
        var history = new History();
        var order = Enumerable.Range(0, train.Count).ToArray();
        var shuffle = SeededRandom.ForStream(options.Seed, "shuffle");
        int batches = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var interval = options.ProgressInterval ?? TimeSpan.FromMilliseconds(250);

        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            if (options.Shuffle)
                shuffle.Shuffle(order);
            observer?.EpochStarted(epoch, options.Epochs, batches);
            _model.Backend.Fill(_metrics, 0f);
            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            for (int b = 0; b < batches; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = b * options.BatchSize;
                int count = Math.Min(options.BatchSize, train.Count - start);
                Upload(train, order.AsSpan(start, count));
                // Dropout masks depend on the global step, so every batch of every epoch draws its own.
                var (input, labels) = Batch(count);
                _model.ComputeGradients(input, labels, count, (ulong)_optimizer.Iterations + 1, _metrics);
                _optimizer.Step(_model);
                if (observer is not null && (clock.Elapsed - lastReport >= interval || b == batches - 1))
                {
                    lastReport = clock.Elapsed;
                    var (loss, accuracy) = ReadMetrics(start + count);
                    observer.BatchCompleted(epoch, b + 1, batches, loss, accuracy, (start + count) / clock.Elapsed.TotalSeconds);
                }
            }
            var (epochLoss, epochAccuracy) = ReadMetrics(train.Count);
            clock.Stop();
            double? valLoss = null, valAccuracy = null;
            if (validation is not null)
                (valLoss, valAccuracy) = Evaluate(validation, options.BatchSize);
            var metrics = new EpochMetrics(epoch, epochLoss, epochAccuracy, valLoss, valAccuracy, clock.Elapsed.TotalSeconds,
                train.Count / clock.Elapsed.TotalSeconds);
            history.Add(metrics);
            observer?.EpochCompleted(metrics);
        }
        return history;
    }

    /// <summary>Keras's <c>evaluate</c>: mean loss (penalties excluded) and accuracy over <paramref name="data"/>, in inference mode.</summary>
    public (double Loss, double Accuracy) Evaluate(LabeledImages data, int batchSize)
    {
        CheckData(data, batchSize);
        _model.Backend.Fill(_metrics, 0f);
        var indices = new int[Math.Min(batchSize, data.Count)];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, data.Count - start);
            for (int i = 0; i < count; i++)
                indices[i] = start + i;
            Upload(data, indices.AsSpan(0, count));
            var (input, labels) = Batch(count);
            _model.Evaluate(input, labels, count, _metrics);
        }
        return ReadMetrics(data.Count);
    }

    /// <summary>Keras's <c>predict</c>: class probabilities, (Count, ClassCount).</summary>
    public float[] Predict(LabeledImages data, int batchSize)
    {
        CheckData(data, batchSize);
        var probabilities = new float[data.Count * _model.ClassCount];
        using var device = _model.Backend.Allocate(Math.Min(batchSize, data.Count) * _model.ClassCount);
        var indices = new int[Math.Min(batchSize, data.Count)];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, data.Count - start);
            for (int i = 0; i < count; i++)
                indices[i] = start + i;
            Upload(data, indices.AsSpan(0, count));
            var output = device.Slice(0, count * _model.ClassCount);
            _model.Predict(Batch(count).Input, count, output);
            _model.Backend.Download(output, probabilities.AsSpan(start * _model.ClassCount, count * _model.ClassCount));
        }
        return probabilities;
    }

    // One upload of pixels and one of labels per batch.
    private void Upload(LabeledImages data, ReadOnlySpan<int> indices)
    {
        int pixels = indices.Length * _model.InputLength, labels = indices.Length * _model.ClassCount;
        data.GatherBatch(indices, _hostPixels.AsSpan(0, pixels), _hostLabels.AsSpan(0, labels));
        _model.Backend.Upload(_hostPixels.AsSpan(0, pixels), _input.Slice(0, pixels));
        _model.Backend.Upload(_hostLabels.AsSpan(0, labels), _labels.Slice(0, labels));
    }

    private (double Loss, double Accuracy) ReadMetrics(int samples)
    {
        _model.Backend.Download(_metrics, _hostMetrics);
        // In double: the correct count is exact in float, and 3 / 10 should read 0.3, not float's 0.30000001.
        return (_hostMetrics[MetricSlot.LossSum] / (double)samples, _hostMetrics[MetricSlot.Correct] / (double)samples);
    }

    private void CheckData(LabeledImages data, int batchSize)
    {
        if (batchSize < 1 || batchSize > _model.MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{_model.Name} was built for batches of 1 to {_model.MaxBatchSize}");
        if (data.PixelsPerImage != _model.InputLength)
            throw new ArgumentException($"{_model.Name} takes samples of {string.Join("x", _model.InputShape)}, the data has {data.Height}x{data.Width}x{data.Channels}", nameof(data));
        if (data.ClassCount != _model.ClassCount)
            throw new ArgumentException($"{_model.Name} predicts {_model.ClassCount} classes, the data has {data.ClassCount}", nameof(data));
        if (data.Count == 0)
            throw new ArgumentException("the data set is empty", nameof(data));
    }

    public void Dispose()
    {
        _input.Dispose();
        _labels.Dispose();
        _metrics.Dispose();
    }
}

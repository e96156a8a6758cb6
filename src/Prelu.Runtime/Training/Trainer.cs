using System.Diagnostics;
using Prelu.Initializers;
using Prelu.Kernels;

namespace Prelu;

/// <summary>Keras's <c>fit</c> arguments, and where to keep a run that must survive being stopped.</summary>
/// <param name="Epochs">How many times to go through the training part of the data.</param>
/// <param name="BatchSize">Samples per step; the last batch of an epoch takes what is left.</param>
/// <param name="ValidationSplit">The last fraction of the training set, taken before shuffling, is held out for validation (0: none).</param>
/// <param name="Shuffle">Draw a new order of the training samples every epoch (Keras's default).</param>
/// <param name="Seed">Seeds the shuffles (the model's own seed draws weights and dropout masks).</param>
/// <param name="ProgressInterval">How often the running metrics are read back for the observer (every 250 ms when null).</param>
/// <param name="CheckpointPath">
/// When set, the run is checkpointed there (atomically) at the end of every epoch and when it is cancelled:
/// weights, optimizer state, where it stands, the history so far.
/// </param>
/// <param name="Resume">Continue from <paramref name="CheckpointPath"/> when that file exists (else start afresh): the same bits as a run never stopped.</param>
/// <param name="CheckNumerics">Check every parameter, layer output and gradient after every step (slow: for debugging), not only the loss.</param>
/// <param name="Shift">
/// Augmentation, as Keras's <c>width_shift_range</c> and <c>height_shift_range</c> in pixels (or a RandomTranslation
/// layer): each training image is moved by up to this many pixels each way, a fresh draw from the seed every epoch,
/// zeros filling what comes in; 0 (the default) moves nothing. Validation, evaluation and prediction see the images as they are.
/// </param>
/// <param name="Rotation">
/// Augmentation, as Keras's <c>rotation_range</c> (or a RandomRotation layer): each training image is turned about its
/// centre by an angle drawn uniformly from [-Rotation, Rotation] degrees every epoch, interpolated bilinearly, zeros
/// filling the corners; 0 (the default) turns nothing.
/// </param>
/// <param name="Zoom">
/// Augmentation, as Keras's <c>zoom_range</c> given one number (or a RandomZoom layer that keeps the aspect ratio): each
/// training image is scaled about its centre by a factor drawn uniformly from [1 - Zoom, 1 + Zoom] every epoch (above 1
/// enlarges), interpolated bilinearly; 0 (the default) scales nothing.
/// </param>
/// <param name="Callbacks">
/// Keras's callbacks (<see cref="EarlyStopping"/>, <see cref="ReduceLROnPlateau"/>, <see cref="ModelCheckpoint"/>), told
/// of every epoch in this order; their state goes into the fit's checkpoint, so a resumed fit needs the same ones.
/// </param>
/// <param name="Verbose">
/// Keras's <c>verbose</c>, when <see cref="Trainer.Fit"/> is given no observer: 1 (the default) shows progress on the
/// console (a bar per epoch on a terminal, a line every tenth of an epoch in a log; <see cref="ConsoleProgress"/>), 2
/// one line per epoch, 0 nothing.
/// </param>
public sealed record FitOptions(int Epochs, int BatchSize, double ValidationSplit = 0, bool Shuffle = true, ulong Seed = 0,
    TimeSpan? ProgressInterval = null, string? CheckpointPath = null, bool Resume = false, bool CheckNumerics = false, int Shift = 0,
    IReadOnlyList<Callback>? Callbacks = null, int Verbose = 1, float Rotation = 0, float Zoom = 0)
{
    /// <summary>Whether training images move at all (a shift, a turn or a zoom).</summary>
    internal bool Augments => Shift != 0 || Rotation != 0 || Zoom != 0;
}

/// <summary>A fit stopped by its cancellation token; the run up to the last finished batch is in <see cref="CheckpointPath"/> when one was set.</summary>
public sealed class TrainingInterruptedException(string? checkpointPath, int epoch, int batch)
    : OperationCanceledException(checkpointPath is null
        ? $"training stopped before batch {batch + 1} of epoch {epoch}; no checkpoint path was set, so it cannot be resumed"
        : $"training stopped before batch {batch + 1} of epoch {epoch}; the run so far is saved in {checkpointPath}")
{
    /// <summary>Where the run so far is saved; null when the fit had no checkpoint path.</summary>
    public string? CheckpointPath { get; } = checkpointPath;
    /// <summary>The epoch stopped in, 1-based.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>The next batch to train, 0-based.</summary>
    public int Batch { get; } = batch;
}

/// <summary>
/// The loss (or, with <see cref="FitOptions.CheckNumerics"/>, a tensor) stopped being finite. The message
/// names the first tensor found holding NaN or Inf; the last checkpoint is left as it was.
/// </summary>
public sealed class NumericalFaultException(string message, string? tensor, int epoch, int batch) : ArithmeticException(message)
{
    /// <summary>The first tensor found holding a NaN or an Inf ("conv.kernel", "output of dense", "gradient of dense.bias"), or null when none does.</summary>
    public string? Tensor { get; } = tensor;
    /// <summary>The epoch, 1-based.</summary>
    public int Epoch { get; } = epoch;
    /// <summary>The batch, 0-based.</summary>
    public int Batch { get; } = batch;
}

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
    private readonly float[] _hostSamples, _hostLabels, _hostMetrics = new float[MetricSlot.Count];

    /// <summary>A trainer of <paramref name="model"/> by <paramref name="optimizer"/>, with its batch buffers on the model's backend.</summary>
    public Trainer(CompiledModel model, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        _model = model;
        _optimizer = optimizer;
        int batch = model.MaxBatchSize;
        _hostSamples = new float[batch * model.InputLength];
        _hostLabels = new float[model.Loss.TargetLength(batch, model.OutputLength)];
        _input = model.Backend.Allocate(_hostSamples.Length);
        _labels = model.Backend.Allocate(_hostLabels.Length);
        _metrics = model.Backend.Allocate(MetricSlot.Count);
        _fullInput = _input.Slice(0, _input.Length);
        _fullLabels = _labels.Slice(0, _labels.Length);
    }

    // The device input and labels of a batch of `count`: the full-batch views, or (a last, shorter batch) new ones.
    private (DeviceBuffer Input, DeviceBuffer Labels) Batch(int count) => count == _model.MaxBatchSize
        ? (_fullInput, _fullLabels)
        : (_input.Slice(0, count * _model.InputLength), _labels.Slice(0, _model.Loss.TargetLength(count, _model.OutputLength)));

    /// <summary>The model trained.</summary>
    public CompiledModel Model => _model;
    /// <summary>The optimizer that updates it.</summary>
    public Optimizer Optimizer => _optimizer;

    /// <summary>
    /// Trains for <see cref="FitOptions.Epochs"/> epochs and returns the history. With a checkpoint path, the
    /// run is saved after every epoch and when <paramref name="cancellationToken"/> stops it (after the batch in
    /// flight, then <see cref="TrainingInterruptedException"/>); with <see cref="FitOptions.Resume"/> it goes on
    /// from that file. A loss that is not finite stops the run with a <see cref="NumericalFaultException"/>.
    /// </summary>
    public History Fit(IDataset data, FitOptions options, ITrainingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        _model.ThrowIfNotTrainable("Trainer.Fit");
        CheckData(data, options.BatchSize);
        if (options.Epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "FitOptions.Epochs must be at least 1");
        if (options.Resume && options.CheckpointPath is null)
            throw new ArgumentException("FitOptions.Resume needs FitOptions.CheckpointPath: the file to resume from", nameof(options));
        CheckAugmentation(data, options);
        if (options.Verbose is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(options), options.Verbose, "FitOptions.Verbose is 0 (silent), 1 (progress) or 2 (one line per epoch), as Keras's");
        if (options.Callbacks?.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"FitOptions.Callbacks holds two {twice.Key} callbacks: each keeps its state in the checkpoint under its name", nameof(options));
        // The model is the fit's until it ends: a Predict or another fit from another thread is refused, not raced.
        using var use = _model.Exclusive("Trainer.Fit");
        return observer is null && options.Verbose != 0
            ? ConsoleProgress.Show(options.Verbose, progress => Train(data, options, progress, cancellationToken))
            : Train(data, options, observer, cancellationToken);
    }

    // Fit, its arguments checked. Where the backend holds a non-finite step's updates back on its device, the loss is read
    // only when the host needs the metrics anyway (a progress update, the epoch's end, a checkpoint): every step's running
    // loss sum is copied on the device into a trail, from which a fault found then is traced to its batch.
    private History Train(IDataset data, FitOptions options, ITrainingObserver? observer, CancellationToken cancellationToken)
    {
        var (train, validation) = options.ValidationSplit > 0 ? ValidationSplit.Split(data, options.ValidationSplit) : (data, null);
        int batches = (train.Count + options.BatchSize - 1) / options.BatchSize;
        if (!_model.Backend.GuardsUpdatesOnDevice || options.CheckNumerics)
            return Train(train, validation, batches, null, options, observer, cancellationToken);
        using var trail = _model.Backend.Allocate(batches);
        _model.Backend.GuardUpdates(_metrics.Slice(MetricSlot.LossSum, 1));
        try
        {
            return Train(train, validation, batches, trail, options, observer, cancellationToken);
        }
        finally
        {
            _model.Backend.GuardUpdates(null);
        }
    }

    private History Train(IDataset train, IDataset? validation, int batches, DeviceBuffer? lossTrail, FitOptions options, ITrainingObserver? observer,
        CancellationToken cancellationToken)
    {
        var interval = options.ProgressInterval ?? TimeSpan.FromMilliseconds(250);

        var callbacks = options.Callbacks ?? [];
        bool resuming = options.Resume && File.Exists(options.CheckpointPath);
        if (!resuming)
        {
            foreach (var callback in callbacks)
                callback.FitStarted(_model, _optimizer);
        }
        var position = resuming
            ? TrainingCheckpoint.Load(options.CheckpointPath!, _model, _optimizer, options, train.Count)
            : new TrainingPosition(1, 0, new float[MetricSlot.Count], []);
        var history = new History();
        foreach (var epoch in position.History)
            history.Add(epoch);
        if (position.Stopped)
            return history; // a callback ended this fit before its last epoch
        // The shuffles of the epochs already trained, replayed: the order is a function of the seed and the epoch.
        var order = Enumerable.Range(0, train.Count).ToArray();
        var shuffle = SeededRandom.ForStream(options.Seed, "shuffle");
        for (int epoch = 1; epoch < position.Epoch && options.Shuffle; epoch++)
            shuffle.Shuffle(order);

        for (int epoch = position.Epoch; epoch <= options.Epochs; epoch++)
        {
            if (options.Shuffle)
                shuffle.Shuffle(order);
            observer?.EpochStarted(epoch, options.Epochs, batches);
            int firstBatch = epoch == position.Epoch ? position.Batch : 0;
            if (firstBatch > 0)
                _model.Backend.Upload(position.MetricSums, _metrics); // the interrupted epoch's running sums
            else
                _model.Backend.Fill(_metrics, 0f);
            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            // With a loss trail, the batches from here on have not had their loss read yet.
            int unread = firstBatch;
            for (int b = firstBatch; b < batches; b++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (lossTrail is not null)
                        CheckTrail(lossTrail, train, order, options, epoch, unread, b - 1);
                    if (options.CheckpointPath is { } path)
                        SaveRun(path, options, train.Count, new TrainingPosition(epoch, b, _model.Backend.ToArray(_metrics), history.Epochs));
                    throw new TrainingInterruptedException(options.CheckpointPath, epoch, b);
                }
                int start = b * options.BatchSize;
                int count = Math.Min(options.BatchSize, train.Count - start);
                Upload(train, order.AsSpan(start, count), options.Augments ? (options, epoch) : null);
                // Dropout masks depend on the global step, so every batch of every epoch draws its own.
                var (input, labels) = Batch(count);
                _model.ComputeGradients(input, labels, count, (ulong)_optimizer.Iterations + 1, _metrics);
                if (lossTrail is null)
                    CheckNumerics(options, epoch, b, count);
                else
                    _model.Backend.Copy(_metrics.Slice(MetricSlot.LossSum, 1), lossTrail.Slice(b, 1));
                _optimizer.Step(_model);
                if (observer is not null && (clock.Elapsed - lastReport >= interval || b == batches - 1))
                {
                    lastReport = clock.Elapsed;
                    if (lossTrail is not null)
                    {
                        CheckTrail(lossTrail, train, order, options, epoch, unread, b);
                        unread = b + 1;
                    }
                    var running = Means(start + count, ""); // read back by the loss check above
                    observer.BatchCompleted(epoch, b + 1, batches, running,
                        (start + count - firstBatch * options.BatchSize) / clock.Elapsed.TotalSeconds);
                }
            }
            // The trail's check reads the metrics back itself: one read at the epoch's end either way.
            Dictionary<string, double> named;
            if (lossTrail is not null)
            {
                CheckTrail(lossTrail, train, order, options, epoch, unread, batches - 1);
                named = Means(train.Count, "");
            }
            else
            {
                named = ReadMetrics(train.Count, "");
            }
            clock.Stop();
            if (validation is not null)
            {
                foreach (var (name, value) in Evaluate(validation, options.BatchSize, MetricNames.ValidationPrefix))
                    named[name] = value;
            }
            int trained = train.Count - firstBatch * options.BatchSize;
            var metrics = new EpochMetrics(epoch, named, clock.Elapsed.TotalSeconds, trained / clock.Elapsed.TotalSeconds);
            bool stop = false;
            foreach (var callback in callbacks)
                stop |= callback.EpochEnded(metrics, _model, _optimizer);
            history.Add(metrics);
            if (options.CheckpointPath is { } checkpoint)
                SaveRun(checkpoint, options, train.Count, new TrainingPosition(epoch + 1, 0, new float[MetricSlot.Count], history.Epochs, stop));
            observer?.EpochCompleted(metrics);
            if (stop)
                break;
        }
        return history;
    }

    private void SaveRun(string path, FitOptions options, int trainCount, TrainingPosition position) =>
        TrainingCheckpoint.Save(path, _model, _optimizer, options, trainCount, position);

    // The loss of every step must be finite (the running sum is, then); with CheckNumerics every parameter
    // and gradient too. A fault names the first tensor holding a NaN or an Inf, before the optimizer spreads it.
    private void CheckNumerics(FitOptions options, int epoch, int batch, int batchCount)
    {
        _model.Backend.Download(_metrics, _hostMetrics);
        float loss = _hostMetrics[MetricSlot.LossSum];
        if (float.IsFinite(loss) && !options.CheckNumerics)
            return;
        Diagnose(options, epoch, batch, batchCount, loss);
    }

    // The deferred loss check (a backend that guards updates on its device): the running metrics read back, and if the
    // loss sum is no longer finite, the trail of batches [first, last] says which step's loss was the first that was not.
    // The guard has kept that step and every one after it from the weights, so the weights are those the faulty step
    // met: its batch is run again on them (its images, moves and dropout step as they were) and diagnosed as at once.
    private void CheckTrail(DeviceBuffer lossTrail, IDataset train, int[] order, FitOptions options, int epoch, int first, int last)
    {
        _model.Backend.Download(_metrics, _hostMetrics);
        if (float.IsFinite(_hostMetrics[MetricSlot.LossSum]) || last < first)
            return;
        var sums = _model.Backend.ToArray(lossTrail.Slice(first, last - first + 1));
        int fault = first + Math.Max(0, Array.FindIndex(sums, v => !float.IsFinite(v)));
        int start = fault * options.BatchSize, count = Math.Min(options.BatchSize, train.Count - start);
        Upload(train, order.AsSpan(start, count), options.Augments ? (options, epoch) : null);
        var (input, labels) = Batch(count);
        // The optimizer counted every step since, held back or not: the faulty one was step Iterations - (last - fault).
        _model.ComputeGradients(input, labels, count, (ulong)(_optimizer.Iterations - (last - fault)), _metrics);
        Diagnose(options, epoch, fault, count, sums[fault - first]);
    }

    // Throws the fault of a step whose loss (or, with CheckNumerics, some tensor) is not finite, naming the first tensor
    // that holds a NaN or an Inf (the step's layer outputs and gradients are in their buffers); returns when none does
    // and the loss is finite.
    private void Diagnose(FitOptions options, int epoch, int batch, int batchCount, float loss)
    {
        bool lossFinite = float.IsFinite(loss);
        var culprit = FirstNonFinite(batchCount);
        if (lossFinite && culprit is null)
            return;
        string where = culprit is null
            ? "no parameter, layer output or gradient holds one, so the input or the labels do"
            : $"the first tensor holding one is {culprit.Value.Description}";
        string kept = options.CheckpointPath is { } path
            ? $"{path} still holds the run as it was after epoch {epoch - 1}{(File.Exists(path) ? "" : " (none was written yet)")}"
            : "no checkpoint path was set";
        throw new NumericalFaultException(
            $"training stopped in epoch {epoch}, batch {batch + 1}: {(lossFinite ? "a tensor" : $"the loss ({loss})")} is not finite; {where}. {kept}. " +
            "A smaller learning rate, gradient-friendly initial weights, or inputs checked for NaN usually cure it.",
            culprit?.Tensor, epoch, batch);
    }

    // Layer by layer in forward order, each layer's parameters then its output; then the parameters of no
    // listed layer, then every gradient (backward spreads a NaN from the last layer to the first, so any
    // gradient found is reported with its layer).
    private (string Tensor, string Description)? FirstNonFinite(int batchCount)
    {
        static string LayerOf(ParameterInfo p) => p.Name[..p.Name.LastIndexOf('.')];
        (string, string)? Check(IEnumerable<ParameterInfo> parameters, string kind, Func<string, float[]> read)
        {
            foreach (var parameter in parameters)
            {
                if (Find(read(parameter.Name)) is { } bad)
                {
                    return (kind == "parameter" ? parameter.Name : $"gradient of {parameter.Name}",
                        $"the {kind} {parameter.Name} of layer {LayerOf(parameter)} ({bad})");
                }
            }
            return null;
        }
        var notYetChecked = _model.Parameters.ToList();
        foreach (var (layer, output) in _model.LayerOutputs(batchCount))
        {
            var own = notYetChecked.Where(p => LayerOf(p) == layer).ToList();
            notYetChecked.RemoveAll(own.Contains);
            if (Check(own, "parameter", _model.GetParameter) is { } parameter)
                return parameter;
            if (Find(_model.Backend.ToArray(output)) is { } bad)
                return ($"output of {layer}", $"the output of layer {layer} ({bad})");
        }
        return Check(notYetChecked, "parameter", _model.GetParameter) ?? Check(_model.Parameters, "gradient", _model.GetGradient);
    }

    // "3 of 1,024 values NaN or Inf, the first NaN at index 17", or null when every value is finite.
    private static string? Find(float[] values)
    {
        int first = Array.FindIndex(values, v => !float.IsFinite(v));
        return first < 0 ? null : $"{values.Count(v => !float.IsFinite(v)):N0} of {values.Length:N0} values NaN or Inf, the first {values[first]} at index {first}";
    }

    /// <summary>
    /// Keras's <c>evaluate</c>: every metric of the model's loss (<see cref="MetricNames"/>) over <paramref name="data"/>,
    /// in inference mode, the loss without penalties; <c>var (loss, accuracy) = trainer.Evaluate(...)</c> reads the first two.
    /// </summary>
    public Evaluation Evaluate(IDataset data, int batchSize)
    {
        using var use = _model.Exclusive("Trainer.Evaluate");
        return new(Evaluate(data, batchSize, ""));
    }

    private Dictionary<string, double> Evaluate(IDataset data, int batchSize, string prefix)
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
        return ReadMetrics(data.Count, prefix);
    }

    /// <summary>Keras's <c>predict</c>: what the model predicts for every sample (class probabilities for a classifier), (Count, OutputLength).</summary>
    public float[] Predict(IDataset data, int batchSize)
    {
        CheckData(data, batchSize);
        int outputs = _model.OutputLength;
        var probabilities = new float[data.Count * outputs];
        using var device = _model.Backend.Allocate(Math.Min(batchSize, data.Count) * outputs);
        var indices = new int[Math.Min(batchSize, data.Count)];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, data.Count - start);
            for (int i = 0; i < count; i++)
                indices[i] = start + i;
            Upload(data, indices.AsSpan(0, count));
            var output = device.Slice(0, count * outputs);
            _model.Predict(Batch(count).Input, count, output);
            _model.Backend.Download(output, probabilities.AsSpan(start * outputs, count * outputs));
        }
        return probabilities;
    }

    // Shift, Rotation and Zoom move labeled images, by amounts that leave something of each image in view.
    private static void CheckAugmentation(IDataset data, FitOptions options)
    {
        if (!options.Augments)
            return;
        if (data is not LabeledImages images)
            throw new ArgumentException("FitOptions.Shift, Rotation and Zoom move labeled images; this data set is not one", nameof(options));
        if (options.Shift < 0 || options.Shift >= Math.Min(images.Height, images.Width))
            throw new ArgumentOutOfRangeException(nameof(options), options.Shift, $"FitOptions.Shift must be 0 or more, and less than the images' {images.Height}x{images.Width} size");
        if (!(options.Rotation >= 0 && options.Rotation <= 180))
            throw new ArgumentOutOfRangeException(nameof(options), options.Rotation, "FitOptions.Rotation is the largest turn in degrees, from 0 to 180");
        if (!(options.Zoom >= 0 && options.Zoom < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.Zoom, "FitOptions.Zoom is the largest change of scale, at least 0 and less than 1 (factors from 1 - Zoom to 1 + Zoom)");
    }

    private float[]? _augmentScratch;

    // One upload of pixels and one of labels per batch; a training batch's images moved first when the fit augments them.
    private void Upload(IDataset data, ReadOnlySpan<int> indices, (FitOptions Options, int Epoch)? augment = null)
    {
        int samples = indices.Length * _model.InputLength, labels = _model.Loss.TargetLength(indices.Length, _model.OutputLength);
        data.GatherBatch(indices, _hostSamples.AsSpan(0, samples), _hostLabels.AsSpan(0, labels), _model.Loss, _model.OutputLength);
        if (augment is var (options, epoch) && data is LabeledImages images)
        {
            int length = _model.InputLength;
            _augmentScratch ??= new float[length];
            for (int i = 0; i < indices.Length; i++)
            {
                var move = ImageAugmentation.Draw(options.Seed, epoch, indices[i], options.Shift, options.Rotation, options.Zoom);
                ImageAugmentation.Apply(_hostSamples.AsSpan(i * length, length), images.Height, images.Width, images.Channels, move, _augmentScratch);
            }
        }
        _model.Backend.Upload(_hostSamples.AsSpan(0, samples), _input.Slice(0, samples));
        _model.Backend.Upload(_hostLabels.AsSpan(0, labels), _labels.Slice(0, labels));
    }

    private Dictionary<string, double> ReadMetrics(int samples, string prefix)
    {
        _model.Backend.Download(_metrics, _hostMetrics);
        return Means(samples, prefix);
    }

    // The metrics last read back, as means over `samples`, by name.
    private Dictionary<string, double> Means(int samples, string prefix)
    {
        var named = new Dictionary<string, double>();
        MetricNames.Means(_model.Loss, _hostMetrics, samples, prefix, named);
        return named;
    }

    private void CheckData(IDataset data, int batchSize)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _model.ThrowIfUnusable();
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1 || batchSize > _model.MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{_model.Name} was built for batches of 1 to {_model.MaxBatchSize}");
        if (data.SampleLength != _model.InputLength)
            throw new ArgumentException($"{_model.Name} takes samples of {string.Join("x", _model.InputShape)}, the data has {string.Join("x", data.SampleShape)}", nameof(data));
        if (data.TargetMismatch(_model.Loss, _model.OutputLength) is { } mismatch)
            throw new ArgumentException($"{_model.Name} trains with {_model.Loss.KerasName}: {mismatch}", nameof(data));
        if (data.Count == 0)
            throw new ArgumentException("the data set is empty", nameof(data));
    }

    private bool _disposed;

    /// <summary>Frees the batch buffers (not the model or the optimizer).</summary>
    public void Dispose()
    {
        _disposed = true;
        _input.Dispose();
        _labels.Dispose();
        _metrics.Dispose();
    }
}

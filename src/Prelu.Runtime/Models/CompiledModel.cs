using Prelu.Initializers;
using Prelu.Kernels;

namespace Prelu;

/// <summary>One trainable tensor of a model: where it lives in the parameter arena and how it is initialised, penalised and constrained.</summary>
/// <param name="Name">"layer.kernel", "layer.bias", "layer.alpha": the name in summaries and checkpoints.</param>
/// <param name="Shape">Keras's layout: Conv2D kernel (KH, KW, Cin, Cout), Dense kernel (In, Out), PReLU alpha (features with 1 on shared axes).</param>
/// <param name="Initializer">How the parameter starts (Keras's initializer of its layer's argument).</param>
/// <param name="Regularizer">A penalty added to the loss; null for none.</param>
/// <param name="Constraint">A constraint applied after every update; null for none.</param>
/// <param name="Offset">Offset in floats within the parameter (and gradient) arena; a multiple of 16 (64 bytes).</param>
public sealed record ParameterInfo(string Name, IReadOnlyList<int> Shape, int Offset, Initializer Initializer,
    Regularizer? Regularizer = null, Constraint? Constraint = null)
{
    /// <summary>Elements in the parameter.</summary>
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// What the source generator's code stands on: a model whose shapes are all known, with every buffer
/// allocated once, on one backend. The generated partial class fills the layer-by-layer parts
/// (<see cref="Forward(ModelWorkspace, DeviceBuffer, int, bool, ulong)"/>, <see cref="Backward"/>, the shapes and the parameter list); this class holds
/// what every model shares: the arenas, initialisation, and the training, evaluation and prediction steps
/// built from the generated parts.
/// </summary>
public abstract class CompiledModel : IDisposable
{
    /// <summary>Parameters are aligned to 16 floats (64 bytes) within the arena, for SIMD loads.</summary>
    public const int Alignment = Arena.Alignment;

    private ulong _seed;

    /// <param name="backend">Where the model's buffers live and its kernels run.</param>
    /// <param name="maxBatchSize">The largest batch a call may pass; every buffer is sized for it.</param>
    /// <param name="parameterArenaLength">Floats in the parameter arena (the generated constant).</param>
    /// <param name="stateArenaLength">Floats of non-trainable state (BatchNormalization's moving statistics).</param>
    /// <param name="trainable">False for a model declared [InferenceOnly]: no gradient arena, and training is refused.</param>
    protected CompiledModel(Backend backend, int maxBatchSize, int parameterArenaLength, int stateArenaLength = 0, bool trainable = true)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        Backend = backend;
        MaxBatchSize = maxBatchSize;
        IsTrainable = trainable;
        ParameterArena = backend.Allocate(parameterArenaLength);
        GradientArena = backend.Allocate(trainable ? parameterArenaLength : 0);
        StateArena = backend.Allocate(stateArenaLength);
    }

    /// <summary>False for a model declared [InferenceOnly]: it predicts, evaluates and exports, and has no gradients.</summary>
    public bool IsTrainable { get; }

    /// <summary>Refuses training of an [InferenceOnly] model before anything runs.</summary>
    public void ThrowIfNotTrainable(string use)
    {
        if (!IsTrainable)
            throw new InvalidOperationException($"{Name} is declared [InferenceOnly]: it predicts and cannot be trained ({use}); declare the same layers without [InferenceOnly] to train them and load the checkpoint here");
    }

    /// <summary>The backend every buffer of the model lives on.</summary>
    public Backend Backend { get; }
    /// <summary>The largest batch the model's buffers hold.</summary>
    public int MaxBatchSize { get; }

    /// <summary>Every parameter, contiguous (with alignment gaps, which stay zero): one optimizer call updates them all.</summary>
    public DeviceBuffer ParameterArena { get; }

    /// <summary>The gradients, laid out as <see cref="ParameterArena"/>.</summary>
    public DeviceBuffer GradientArena { get; }

    /// <summary>
    /// Non-trainable state (Keras's non-trainable weights: BatchNormalization's moving mean and variance),
    /// laid out as <see cref="States"/> says. The optimizer never sees it; training forward passes update it.
    /// </summary>
    public DeviceBuffer StateArena { get; }

    /// <summary>The class name of the declared model.</summary>
    public abstract string Name { get; }

    /// <summary>The shape of one input sample, e.g. (28, 28, 1).</summary>
    public abstract IReadOnlyList<int> InputShape { get; }

    /// <summary>Floats in one input sample.</summary>
    public int InputLength => InputShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Floats of one sample's output: the classes of a classifier, the values a regression predicts.</summary>
    public abstract int OutputLength { get; }

    /// <summary>The loss the model trains with (the class's [Loss]; categorical cross-entropy without one).</summary>
    public abstract LossFunction Loss { get; }

    /// <summary>Every trainable tensor, in layer order.</summary>
    public abstract IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>Every non-trainable tensor, in layer order, with offsets into <see cref="StateArena"/> (none for most models).</summary>
    public virtual IReadOnlyList<ParameterInfo> States => [];

    /// <summary>Every tensor a checkpoint keeps: the parameters, then the states.</summary>
    public IEnumerable<ParameterInfo> Tensors => Parameters.Concat(States);

    /// <summary>Trainable values, Keras's "Trainable params".</summary>
    public int ParameterCount => Parameters.Sum(p => p.Length);

    /// <summary>Non-trainable values, Keras's "Non-trainable params"; with <see cref="ParameterCount"/>, its "Total params".</summary>
    public int StateCount => States.Sum(p => p.Length);

    /// <summary>Every layer in declaration order, as Keras's <c>get_config</c> describes it (what the ONNX exporter rebuilds).</summary>
    public abstract IReadOnlyList<LayerConfig> Layers { get; }

    /// <summary>The table Keras's <c>model.summary()</c> prints: layer, output shape, parameter count, totals.</summary>
    public abstract string Summary();

    /// <summary>The workspace of training, evaluation and <see cref="Forward(DeviceBuffer, int, bool, ulong)"/>: the one <see cref="Backward"/> reads.</summary>
    protected abstract ModelWorkspace TrainingWorkspace { get; }

    /// <summary>A new workspace for a prediction that runs beside others (see <see cref="ModelWorkspace"/>).</summary>
    protected abstract ModelWorkspace CreateWorkspace();

    /// <summary>
    /// The output of <paramref name="workspace"/>'s last forward pass, (batch, OutputLength): what the loss reads, logits
    /// where the loss computes the output's softmax or sigmoid.
    /// </summary>
    protected abstract DeviceBuffer Outputs(ModelWorkspace workspace, int batchCount);

    /// <summary>Scratch buffers of the loss for a batch in <paramref name="workspace"/>: its predictions and dL/doutputs, (batch, OutputLength) each.</summary>
    protected abstract (DeviceBuffer Predictions, DeviceBuffer OutputsGrad) LossBuffers(ModelWorkspace workspace, int batchCount);

    /// <summary>Runs every layer on <paramref name="input"/> (batch, InputShape), writing <paramref name="workspace"/>'s buffers.</summary>
    protected abstract void Forward(ModelWorkspace workspace, DeviceBuffer input, int batchCount, bool training, ulong step);

    /// <summary>
    /// Runs every layer on <paramref name="input"/> (batch, InputShape), in the training workspace. Dropout is active only
    /// when <paramref name="training"/>; <paramref name="step"/> picks its masks.
    /// </summary>
    public void Forward(DeviceBuffer input, int batchCount, bool training, ulong step)
    {
        CheckBatch(batchCount);
        using var use = Exclusive("Forward");
        Forward(TrainingWorkspace, input, batchCount, training, step);
    }

    /// <summary>From dL/doutputs back to every parameter gradient, after a training forward pass on the same batch. Overwrites <see cref="GradientArena"/>.</summary>
    public abstract void Backward(DeviceBuffer input, DeviceBuffer outputsGrad, int batchCount);

    /// <summary>
    /// Each layer's output of the last forward pass on a batch of <paramref name="batchCount"/>, in forward
    /// order (a fused step gives its pre-activation as its first layer's output): where a numerical fault is traced.
    /// A convolution fused with its max pooling may keep less than its whole output there (see
    /// <see cref="Backend.Conv2DPoolForward"/>); the pooling's output is always whole.
    /// </summary>
    public virtual IReadOnlyList<(string Layer, DeviceBuffer Output)> LayerOutputs(int batchCount) => [];

    /// <summary>True once the weights were set (<see cref="Initialize"/>, a checkpoint loaded, <see cref="SetParameter"/>): before, they are zeros.</summary>
    public bool HasWeights { get; private set; }

    /// <summary>The seed of <see cref="Initialize"/>: parameters and dropout masks are drawn from it.</summary>
    public ulong Seed => _seed;

    /// <summary>
    /// The seed of the dropout layer at <paramref name="layerIndex"/> (its position among the declared
    /// layers, from 0): Seed + 100 + layerIndex. Masks are a hash of (this seed, step, element), the same on every backend.
    /// </summary>
    public ulong DropoutSeed(int layerIndex) => unchecked(_seed + 100 + (ulong)layerIndex);

    /// <summary>Draws every parameter and state tensor from its initializer, each from its own stream of <paramref name="seed"/>.</summary>
    public void Initialize(ulong seed)
    {
        ThrowIfUnusable();
        using var use = Exclusive("Initialize");
        _seed = seed;
        HasWeights = true;
        foreach (var (tensors, arena) in new[] { (Parameters, ParameterArena), (States, StateArena) })
        {
            Backend.Fill(arena, 0f);
            foreach (var tensor in tensors)
            {
                var values = new float[tensor.Length];
                tensor.Initializer.Fill(values, tensor.Shape, SeededRandom.ForStream(seed, tensor.Name));
                Backend.Upload(values, arena.Slice(tensor.Offset, tensor.Length));
            }
        }
    }

    /// <summary>A parameter's (or a state tensor's) values, by name (tests, checkpoints, reports of learned alphas).</summary>
    public float[] GetParameter(string name)
    {
        var (tensor, arena) = Find(name);
        return Backend.ToArray(arena.Slice(tensor.Offset, tensor.Length));
    }

    /// <summary>Sets a parameter's (or a state tensor's) values, by name.</summary>
    public void SetParameter(string name, ReadOnlySpan<float> values)
    {
        var (tensor, arena) = Find(name);
        using var use = Exclusive("SetParameter");
        if (values.Length != tensor.Length)
            throw new ArgumentException($"{name} holds {tensor.Length} values ({string.Join("x", tensor.Shape)}), got {values.Length}", nameof(values));
        HasWeights = true;
        Backend.Upload(values, arena.Slice(tensor.Offset, tensor.Length));
    }

    /// <summary>A trainable parameter's gradient from the last backward pass, by name.</summary>
    public float[] GetGradient(string name)
    {
        ThrowIfNotTrainable("GetGradient");
        var parameter = Parameters.FirstOrDefault(p => p.Name == name)
            ?? throw new KeyNotFoundException($"{Name} has no trainable parameter '{name}'; it has {string.Join(", ", Parameters.Select(p => p.Name))}");
        return Backend.ToArray(GradientArena.Slice(parameter.Offset, parameter.Length));
    }

    private (DeviceBuffer Parameter, DeviceBuffer Gradient)[]? _views;

    // Each parameter's view of the two arenas, made on first use: a step allocates nothing.
    private (DeviceBuffer Parameter, DeviceBuffer Gradient)[] Views() => _views ??=
        Parameters.Select(p => (ParameterArena.Slice(p.Offset, p.Length), GradientArena.Slice(p.Offset, p.Length))).ToArray();

    private (ParameterInfo Tensor, DeviceBuffer Arena) Find(string name) =>
        Parameters.FirstOrDefault(p => p.Name == name) is { } parameter ? (parameter, ParameterArena)
        : States.FirstOrDefault(p => p.Name == name) is { } state ? (state, StateArena)
        : throw new KeyNotFoundException($"{Name} has no parameter '{name}'; it has {string.Join(", ", Tensors.Select(p => p.Name))}");

    /// <summary>
    /// One training step's gradients: forward (training), the loss, backward, and each parameter's regularizer.
    /// <paramref name="targets"/> holds what <see cref="Loss"/> reads: (batch, OutputLength), or a class index per
    /// sample for sparse targets. Adds the batch's metric sums (<see cref="MetricSlot"/>; the loss with its penalties)
    /// into <paramref name="metrics"/>. The optimizer then updates <see cref="ParameterArena"/>.
    /// </summary>
    public void ComputeGradients(DeviceBuffer input, DeviceBuffer targets, int batchCount, ulong step, DeviceBuffer metrics)
    {
        CheckBatch(batchCount);
        ThrowIfNotTrainable("ComputeGradients");
        using var use = Exclusive("ComputeGradients");
        Forward(TrainingWorkspace, input, batchCount, training: true, step);
        var (predictions, outputsGrad) = LossBuffers(TrainingWorkspace, batchCount);
        Backend.Loss(Loss, batchCount, OutputLength, Outputs(TrainingWorkspace, batchCount), targets, predictions, outputsGrad, metrics);
        Backward(input, outputsGrad, batchCount);
        var views = Views();
        for (int i = 0; i < views.Length; i++)
        {
            if (Parameters[i].Regularizer is { } regularizer)
                Backend.AddRegularizer(regularizer, views[i].Parameter, views[i].Gradient, metrics, batchCount);
        }
    }

    /// <summary>
    /// Keras's <c>Normalization.adapt(data)</c>: every Normalization layer's mean and variance (biased, as Keras's) of each
    /// feature over all of <paramref name="data"/>'s samples (and every position of a map), in one pass in double
    /// precision, and the count of values they came from. Run it on the training data before training.
    /// </summary>
    public void Adapt(IDataset data)
    {
        ThrowIfUnusable();
        ArgumentNullException.ThrowIfNull(data);
        var layers = Layers.Where(l => l.Type == "Normalization").Select(l => l.Name).ToList();
        if (layers.Count == 0)
            throw new InvalidOperationException($"{Name} has no Normalization layer to adapt");
        if (data.SampleLength != InputLength)
            throw new ArgumentException($"{Name} takes samples of {string.Join("x", InputShape)}, the data has {string.Join("x", data.SampleShape)}", nameof(data));
        if (data.Count == 0)
            throw new ArgumentException("the data set is empty: there is nothing to adapt to", nameof(data));
        using var use = Exclusive("Adapt");
        int features = InputShape[^1];
        // Welford's running mean and sum of squared deviations, per feature.
        var mean = new double[features];
        var squares = new double[features];
        long count = 0;
        int chunk = Math.Min(256, data.Count);
        var samples = new float[chunk * InputLength];
        var indices = new int[chunk];
        for (int start = 0; start < data.Count; start += chunk)
        {
            int n = Math.Min(chunk, data.Count - start);
            for (int i = 0; i < n; i++)
                indices[i] = start + i;
            data.GatherSamples(indices.AsSpan(0, n), samples.AsSpan(0, n * InputLength));
            for (int offset = 0; offset < n * InputLength; offset += features)
            {
                count++;
                for (int f = 0; f < features; f++)
                {
                    double x = samples[offset + f], delta = x - mean[f];
                    mean[f] += delta / count;
                    squares[f] += delta * (x - mean[f]);
                }
            }
        }
        foreach (var layer in layers)
        {
            SetParameter(layer + ".mean", mean.Select(m => (float)m).ToArray());
            SetParameter(layer + ".variance", squares.Select(s => (float)(s / count)).ToArray());
            SetParameter(layer + ".count", [count]);
        }
    }

    /// <summary>Applies every parameter's constraint (after an optimizer update).</summary>
    public void ApplyConstraints()
    {
        var views = Views();
        for (int i = 0; i < views.Length; i++)
        {
            if (Parameters[i].Constraint is { } constraint)
                Backend.ApplyConstraint(constraint, Parameters[i].Shape, views[i].Parameter);
        }
    }

    /// <summary>Inference forward and the loss, without gradients: adds the batch's metric sums into <paramref name="metrics"/>.</summary>
    public void Evaluate(DeviceBuffer input, DeviceBuffer targets, int batchCount, DeviceBuffer metrics)
    {
        CheckBatch(batchCount);
        using var use = Exclusive("Evaluate");
        Forward(TrainingWorkspace, input, batchCount, training: false, step: 0);
        var (predictions, _) = LossBuffers(TrainingWorkspace, batchCount);
        Backend.Loss(Loss, batchCount, OutputLength, Outputs(TrainingWorkspace, batchCount), targets, predictions, null, metrics);
    }

    /// <summary>
    /// What the model predicts for a batch, into <paramref name="predictions"/> (batch, OutputLength): inference forward,
    /// then the output's softmax or sigmoid where the loss computes it (class probabilities), else the outputs as they are.
    /// </summary>
    /// <remarks>Safe from many threads at once, as the other <c>Predict</c> (see there).</remarks>
    public void Predict(DeviceBuffer input, int batchCount, DeviceBuffer predictions)
    {
        CheckBatch(batchCount);
        var slot = BeginPrediction();
        try
        {
            Predict(slot.Workspace, input, batchCount, predictions);
        }
        finally
        {
            EndPrediction(slot);
        }
    }

    private void Predict(ModelWorkspace workspace, DeviceBuffer input, int batchCount, DeviceBuffer predictions)
    {
        Forward(workspace, input, batchCount, training: false, step: 0);
        Backend.Loss(Loss, batchCount, OutputLength, Outputs(workspace, batchCount), null, predictions, null, null);
    }

    /// <summary>
    /// What the model predicts (class probabilities for a classifier) for samples prepared as the model's input:
    /// <paramref name="inputs"/> holds (count, InputShape) float32 values (pixels in [0, 1] for images),
    /// <paramref name="predictions"/> receives (count, OutputLength); count is 1 to <see cref="MaxBatchSize"/>.
    /// Inference mode (no dropout).
    /// The device buffers are made on the first call and kept: later calls of a count already seen allocate nothing.
    /// </summary>
    /// <remarks>
    /// Safe from many threads at once: each call runs in a workspace of its own (activations, input and output buffers),
    /// taken from a pool that grows to the number of calls running together, and all share the weights. A call while
    /// the model is in use by something that changes it (a fit, <see cref="Initialize"/>, <see cref="SetParameter"/>,
    /// a checkpoint loading) on another thread throws <see cref="InvalidOperationException"/> naming it; it never
    /// returns what a half-updated model computes. On a backend whose kernels cannot run side by side
    /// (<see cref="Backend.RunsConcurrently"/>: OpenCL's) the calls take turns.
    /// </remarks>
    public void Predict(ReadOnlySpan<float> inputs, Span<float> predictions)
    {
        ThrowIfUnusable();
        int count = inputs.Length / InputLength;
        if (count < 1 || count > MaxBatchSize || inputs.Length != count * InputLength)
        {
            throw new ArgumentException($"{Name} takes 1 to {MaxBatchSize} samples of {InputLength} floats ({string.Join("x", InputShape)}); " +
                $"got {inputs.Length} floats", nameof(inputs));
        }
        if (predictions.Length != count * OutputLength)
            throw new ArgumentException($"{count} samples need {count * OutputLength} predictions ({count} x {OutputLength}); got room for {predictions.Length}", nameof(predictions));
        var slot = BeginPrediction();
        try
        {
            var (input, output) = slot.Views(count);
            Backend.Upload(inputs, input);
            Predict(slot.Workspace, input, count, output);
            Backend.Download(output, predictions);
        }
        finally
        {
            EndPrediction(slot);
        }
    }

    // ---- Who may use the model at once ------------------------------------------------------------------------------

    // Predictions run side by side, each in a workspace of its own; whatever changes the model (a fit, initialisation, new
    // weights) or uses the training workspace needs the model to itself. One thread holding it may nest such uses (a fit
    // evaluates, a callback saves) and predict. The gate is held only to count, never while a kernel runs.
    private readonly object _gate = new();
    private string? _owner;
    private int _ownerThread, _ownerDepth, _predicting;
    private readonly System.Collections.Concurrent.ConcurrentBag<PredictionSlot> _slots = [];

    /// <summary>
    /// Takes the model for <paramref name="use"/> ("Trainer.Fit", "Initialize", ...) until the result is disposed;
    /// throws <see cref="InvalidOperationException"/> naming the conflict when another thread holds it or predictions
    /// are running. The thread that holds it may take it again.
    /// </summary>
    public ExclusiveUse Exclusive(string use)
    {
        lock (_gate)
        {
            int thread = Environment.CurrentManagedThreadId;
            if (_ownerDepth > 0 && _ownerThread != thread)
                throw new InvalidOperationException($"{Name} is in use by {_owner} on another thread: {use} needs the model to itself and cannot run until that ends");
            if (_predicting > 0 && _ownerDepth == 0)
                throw new InvalidOperationException($"{Name} is running Predict on {_predicting} other call(s): {use} needs the model to itself and cannot run until they end");
            if (_ownerDepth++ == 0)
                (_owner, _ownerThread) = (use, thread);
        }
        return new ExclusiveUse(this);
    }

    /// <summary>
    /// The model held by <see cref="Exclusive"/> until disposed, once. A struct: a training step takes the model several
    /// times and allocates nothing for it.
    /// </summary>
    public readonly struct ExclusiveUse : IDisposable
    {
        private readonly CompiledModel? _model;

        internal ExclusiveUse(CompiledModel model) => _model = model;

        /// <summary>Gives the model back (the outermost use of the holding thread frees it for others).</summary>
        public void Dispose()
        {
            if (_model is not { } held)
                return;
            lock (held._gate)
            {
                if (--held._ownerDepth == 0)
                    held._owner = null;
            }
        }
    }

    private PredictionSlot BeginPrediction()
    {
        lock (_gate)
        {
            if (_ownerDepth > 0 && _ownerThread != Environment.CurrentManagedThreadId)
                throw new InvalidOperationException($"{Name} is in use by {_owner} on another thread: Predict cannot run until that ends");
            _predicting++;
        }
        try
        {
            var slot = _slots.TryTake(out var free) ? free : new PredictionSlot(this);
            if (!Backend.RunsConcurrently)
                Monitor.Enter(Backend.Turns);
            return slot;
        }
        catch
        {
            lock (_gate)
                _predicting--;
            throw;
        }
    }

    private void EndPrediction(PredictionSlot slot)
    {
        if (!Backend.RunsConcurrently)
            Monitor.Exit(Backend.Turns);
        _slots.Add(slot);
        lock (_gate)
            _predicting--;
    }

    // One prediction's own buffers: the activation workspace, and the device input and output with their views per count.
    private sealed class PredictionSlot(CompiledModel model) : IDisposable
    {
        private readonly DeviceBuffer _input = model.Backend.Allocate(model.MaxBatchSize * model.InputLength);
        private readonly DeviceBuffer _output = model.Backend.Allocate(model.MaxBatchSize * model.OutputLength);
        private readonly (DeviceBuffer Input, DeviceBuffer Output)?[] _views = new (DeviceBuffer, DeviceBuffer)?[model.MaxBatchSize + 1];

        public ModelWorkspace Workspace { get; } = model.CreateWorkspace();

        public (DeviceBuffer Input, DeviceBuffer Output) Views(int count) => _views[count] ??=
            (_input.Slice(0, count * model.InputLength), _output.Slice(0, count * model.OutputLength));

        public void Dispose()
        {
            Workspace.Dispose();
            _input.Dispose();
            _output.Dispose();
        }
    }

    private void CheckBatch(int batchCount)
    {
        ThrowIfUnusable();
        if (batchCount < 1 || batchCount > MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(batchCount), batchCount, $"{Name} was built for batches of 1 to {MaxBatchSize}");
    }

    /// <summary>True once disposed: its buffers are freed, and every call refuses to run.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Refuses use of a disposed model, or of a live one whose backend was disposed, before any kernel runs.</summary>
    public void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Backend.IsDisposed)
            throw new ObjectDisposedException(Backend.GetType().Name, $"{Name} runs on the {Backend.Name} backend, which was disposed");
    }

    /// <summary>
    /// Frees the model's buffers (not its backend). While a Predict or a fit runs on another thread it throws
    /// <see cref="InvalidOperationException"/> naming it and frees nothing: those would read freed memory.
    /// </summary>
    public void Dispose()
    {
        using (Exclusive("Dispose"))
            Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the model holds, once.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || IsDisposed)
            return;
        IsDisposed = true;
        while (_slots.TryTake(out var slot))
            slot.Dispose();
        ParameterArena.Dispose();
        GradientArena.Dispose();
        StateArena.Dispose();
    }
}

using Prelu.Kernels;

namespace Prelu.Tests.Shared;

/// <summary>
/// One model, many threads, as a web app serves it: Predict from four threads at once, on different inputs and batch
/// sizes, gives each call the bits the same call gives alone; a fit holds the model to itself, so a Predict, another
/// fit or new weights from another thread are refused with the conflict named, never answered from a half-trained model.
/// </summary>
public abstract class ConcurrentPredictTests(Backend backend, Type[]? models = null, int[]? batchSizes = null) : IDisposable
{
    private const int Threads = 4, CallsPerThread = 256, MaxBatch = 8;

    // Small graphs with BatchNormalization, merges, Concatenate and depthwise convolutions by default; a backend adds the
    // models whose layers take paths of their own there (the C library's fused convolution and pooling).
    private readonly Type[] _models = models ?? [typeof(ResidualGraphNet), typeof(NormalizedNet), typeof(InvertedResidualNet)];
    private readonly int[] _batchSizes = batchSizes ?? [1, 2, 3, 4, 5, 6, 7, 8];

    public void Dispose()
    {
        backend.Dispose();
        GC.SuppressFinalize(this);
    }

    private CompiledModel Make(Type type)
    {
        var model = TestModels.Create(type, backend, MaxBatch);
        model.Initialize(3);
        return model;
    }

    [Fact]
    public void Four_threads_predict_what_each_call_predicts_alone()
    {
        foreach (var type in _models)
            CheckConcurrentCalls(type);
    }

    private void CheckConcurrentCalls(Type type)
    {
        using var model = Make(type);
        // Every call's input and batch size, and what it predicts alone, first.
        var calls = Enumerable.Range(0, Threads * CallsPerThread).Select(i =>
        {
            int count = _batchSizes[i * 5 % _batchSizes.Length];
            var input = Det.Floats(count * model.InputLength, 1000 + (ulong)i, -1, 1);
            var alone = new float[count * model.OutputLength];
            model.Predict(input, alone);
            return (Input: input, Alone: alone);
        }).ToArray();

        var wrong = new int[Threads];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int c = t; c < calls.Length; c += Threads)
            {
                var predicted = new float[calls[c].Alone.Length];
                model.Predict(calls[c].Input, predicted);
                if (!predicted.AsSpan().SequenceEqual(calls[c].Alone))
                    wrong[t]++;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.True(wrong.Sum() == 0, $"{type.Name} on {backend.Name}: {wrong.Sum()} of {calls.Length} concurrent calls predicted other bits than alone");
    }

    [Fact]
    public void While_a_fit_runs_predict_a_second_fit_and_new_weights_from_other_threads_are_refused_naming_the_fit()
    {
        using var model = Make(_models[0]);
        var features = Det.Floats(32 * model.InputLength, 7, -1, 1);
        var labels = Enumerable.Range(0, 32).Select(i => i % model.OutputLength).ToArray();
        var oneHot = new Dataset(features, model.InputShape.ToArray(),
            targets: labels.SelectMany(l => Enumerable.Range(0, model.OutputLength).Select(k => k == l ? 1f : 0f)).ToArray(), targetLength: model.OutputLength);
        using var inFit = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var fit = new Thread(() =>
        {
            using var trainer = new Trainer(model, new Adam());
            trainer.Fit(oneHot, new FitOptions(Epochs: 1, BatchSize: MaxBatch, Verbose: 0, ProgressInterval: TimeSpan.Zero), new Pause(inFit, release));
        });
        fit.Start();
        Assert.True(inFit.Wait(TimeSpan.FromMinutes(2)), "the fit did not reach its first batch");
        try
        {
            var input = Det.Floats(model.InputLength, 1, -1, 1);
            var conflict = Assert.Throws<InvalidOperationException>(() => model.Predict(input, new float[model.OutputLength]));
            Assert.Contains($"{model.Name} is in use by Trainer.Fit on another thread: Predict cannot run", conflict.Message, StringComparison.Ordinal);
            using var second = new Trainer(model, new Adam());
            conflict = Assert.Throws<InvalidOperationException>(() => second.Fit(oneHot, new FitOptions(Epochs: 1, BatchSize: MaxBatch, Verbose: 0)));
            Assert.Contains("in use by Trainer.Fit on another thread: Trainer.Fit needs the model to itself", conflict.Message, StringComparison.Ordinal);
            conflict = Assert.Throws<InvalidOperationException>(() => model.Initialize(4));
            Assert.Contains("Initialize needs the model to itself", conflict.Message, StringComparison.Ordinal);
            conflict = Assert.Throws<InvalidOperationException>(() => second.Evaluate(oneHot, MaxBatch));
            Assert.Contains("Trainer.Evaluate needs the model to itself", conflict.Message, StringComparison.Ordinal);
            conflict = Assert.Throws<InvalidOperationException>(model.Dispose); // the fit would read freed memory
            Assert.Contains("Dispose needs the model to itself", conflict.Message, StringComparison.Ordinal);
            Assert.False(model.IsDisposed);
        }
        finally
        {
            release.Set();
            fit.Join();
        }
        // The fit over, the model serves predictions again.
        model.Predict(Det.Floats(model.InputLength, 1, -1, 1), new float[model.OutputLength]);
    }

    private sealed class Pause(ManualResetEventSlim reached, ManualResetEventSlim release) : ITrainingObserver
    {
        public void EpochStarted(int epoch, int epochs, int batches)
        {
        }

        public void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
            if (batch != 1)
                return;
            reached.Set();
            release.Wait();
        }

        public void EpochCompleted(EpochMetrics metrics)
        {
        }
    }
}

using Prelu.Kernels;

namespace Prelu.Tests.Shared;

/// <summary>
/// A step whose loss is not finite stops the fit with the fault named (the first tensor holding a NaN or an Inf, the
/// epoch, the batch), and changes no weight: the weights and Adam's state are those the faulty step met, on every
/// backend. A backend that checks the loss on its device (OpenCL, which reads it back only at a progress update or an
/// epoch's end) must trace the fault to the same batch from its trail and hold that step's updates back.
/// </summary>
public abstract class NumericalFaultTests(Backend backend) : IDisposable
{
    private const int Images = 48, Batch = 8, FaultBatch = 3;

    public void Dispose()
    {
        backend.Dispose();
        GC.SuppressFinalize(this);
    }

    // A regression whose one huge target (finite, but its squared error is not) sits in sample 2 of batch 3: that step's
    // loss is Inf on every backend (and the first layer's kernel gradient overflows with it).
    private static Dataset Data()
    {
        var targets = Det.Floats(Images * 2, 12);
        targets[(FaultBatch * Batch + 2) * 2] = 3e38f;
        return new Dataset(Det.Floats(Images * 5, 11), [5], targets, targetLength: 2);
    }

    private static FitOptions Options => new(Epochs: 2, BatchSize: Batch, Shuffle: false, Seed: 5, Verbose: 0);

    private (RegressionNet Model, Adam Optimizer, Trainer Trainer) Make()
    {
        var model = new RegressionNet(backend, Batch);
        model.Initialize(3);
        var optimizer = new Adam();
        return (model, optimizer, new Trainer(model, optimizer));
    }

    [Fact]
    public void The_first_non_finite_loss_stops_the_fit_naming_its_batch_and_the_weights_are_those_its_step_met()
    {
        var (model, optimizer, trainer) = Make();
        using var _ = model;
        using var __ = trainer;

        var fault = Assert.Throws<NumericalFaultException>(() => trainer.Fit(Data(), Options));

        Assert.Equal((1, FaultBatch), (fault.Epoch, fault.Batch));
        Assert.Equal("gradient of dense.kernel", fault.Tensor); // the huge error, taken back through the first layer's products
        Assert.Contains($"training stopped in epoch 1, batch {FaultBatch + 1}: the loss (", fault.Message, StringComparison.Ordinal);
        Assert.Contains(") is not finite; the first tensor holding one is the gradient dense.kernel of layer dense (", fault.Message, StringComparison.Ordinal);

        // The same fit stopped before the faulty batch: its weights and Adam's state are what the faulty step met.
        var (expectedModel, expectedOptimizer, expectedTrainer) = Make();
        using var ___ = expectedModel;
        using var ____ = expectedTrainer;
        using var cancel = new CancellationTokenSource();
        Assert.Throws<TrainingInterruptedException>(() => expectedTrainer.Fit(Data(), Options with { ProgressInterval = TimeSpan.Zero },
            new CancelAfter(FaultBatch, cancel), cancel.Token));
        Assert.Equal(backend.ToArray(expectedModel.ParameterArena), backend.ToArray(model.ParameterArena));
        for (int i = 0; i < 2; i++)
            Assert.Equal(backend.ToArray(expectedOptimizer.State(expectedModel)[i].Buffer), backend.ToArray(optimizer.State(model)[i].Buffer));
    }

    /// <summary>Cancels the fit once <paramref name="steps"/> batches are done.</summary>
    private sealed class CancelAfter(int steps, CancellationTokenSource source) : ITrainingObserver
    {
        private int _done;

        public void EpochStarted(int epoch, int epochs, int batches)
        {
        }

        public void BatchCompleted(int epoch, int batch, int batches, IReadOnlyDictionary<string, double> running, double samplesPerSecond)
        {
            if (++_done == steps)
                source.Cancel();
        }

        public void EpochCompleted(EpochMetrics metrics)
        {
        }
    }
}

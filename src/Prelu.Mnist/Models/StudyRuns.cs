using Prelu.Kernels;

namespace Prelu.Mnist.Models;

/// <summary>
/// One configuration of the study: its name on the command line, its label in tables, its model (by class name,
/// as checkpoints record it), its optimizer (Adam with Keras's defaults unless the run says otherwise) and how its
/// training images are augmented (FitOptions.Shift, Rotation and Zoom; none in the study).
/// </summary>
public sealed record StudyRun(string Name, string Label, string ModelName, Func<Backend, int, CompiledModel> Create, Func<Optimizer>? Optimizer = null,
    int Shift = 0, float Rotation = 0, float Zoom = 0)
{
    public Optimizer CreateOptimizer() => Optimizer?.Invoke() ?? new Adam();
}

public static class StudyRuns
{
    public static IReadOnlyList<StudyRun> All { get; } =
    [
        new("relu", "ReLU", nameof(StudyRelu), (backend, batch) => new StudyRelu(backend, batch)),
        new("prelu", "PReLU, alphas from 0", nameof(StudyPRelu), (backend, batch) => new StudyPRelu(backend, batch)),
        new("prelu-0.25", "PReLU, alphas from 0.25", nameof(StudyPRelu25), (backend, batch) => new StudyPRelu25(backend, batch)),
        new("prelu-channel", "channel-wise PReLU, from 0.25", nameof(StudyPReluChannelWise), (backend, batch) => new StudyPReluChannelWise(backend, batch)),
        new("prelu-shared", "channel-shared PReLU, from 0.25", nameof(StudyPReluChannelShared), (backend, batch) => new StudyPReluChannelShared(backend, batch)),
        new("leaky-relu", "LeakyReLU, alpha 0.1", nameof(StudyLeakyRelu), (backend, batch) => new StudyLeakyRelu(backend, batch)),
        // Adam's learning rate decays by 0.85 every 200 updates (about an epoch at batch 250): 0.001 to about 0.00004 in
        // 20 epochs; training images move by up to 2 pixels each way.
        new("bn-prelu", "deeper, BatchNormalization + channel-wise PReLU", nameof(DeepBatchNormPRelu), (backend, batch) => new DeepBatchNormPRelu(backend, batch),
            () => new Adam { Schedule = new ExponentialDecay(0.001f, 200, 0.85f) }, Shift: 2),
        // The residual networks train as bn-prelu does (a decaying learning rate, shifted images), and their images are
        // also turned by up to 10 degrees and scaled by 0.9 to 1.1: with shifts alone they stopped at 0.9945 over five seeds.
        new("resnet-relu", "residual, ReLU", nameof(ResidualRelu), (backend, batch) => new ResidualRelu(backend, batch),
            () => new Adam { Schedule = new ExponentialDecay(0.001f, 200, 0.85f) }, Shift: 2, Rotation: 10, Zoom: 0.1f),
        new("resnet-prelu", "residual, channel-wise PReLU, from 0.25", nameof(ResidualPRelu), (backend, batch) => new ResidualPRelu(backend, batch),
            () => new Adam { Schedule = new ExponentialDecay(0.001f, 200, 0.85f) }, Shift: 2, Rotation: 10, Zoom: 0.1f),
    ];

    /// <summary>The study's three runs.</summary>
    public static IReadOnlyList<string> Default { get; } = ["relu", "prelu", "prelu-0.25"];

    /// <summary>The run whose model is the class <paramref name="modelName"/> (a checkpoint's "model"), or null.</summary>
    public static StudyRun? ForModel(string modelName) => All.FirstOrDefault(r => r.ModelName == modelName);

    public static StudyRun Find(string name) => All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"unknown run '{name}'; the runs are {string.Join(", ", All.Select(r => r.Name))}");
}

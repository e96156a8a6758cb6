using BenchmarkDotNet.Attributes;
using Prelu.Kernels;
using Prelu.Mnist.Models;

namespace Prelu.Benchmarks;

/// <summary>
/// The study's whole training step, batch 250: forward, loss, backward and Adam, with ReLU and with
/// per-element PReLU (the generated models the study trains).
/// </summary>
public class Perf_TrainingStep : BackendWorkloads
{
    public const int Batch = 250;

    [Params("relu", "prelu")]
    public string Activation { get; set; } = "prelu";

    public static CompiledModel CreateModel(string activation, Backend backend, int batch) =>
        activation == "relu" ? new StudyRelu(backend, batch) : new StudyPRelu(backend, batch);

    protected override Workload Build(Backend backend) => Step(backend, Activation, Batch, d => Owned(d));

    /// <summary>
    /// The step's work on <paramref name="backend"/>: results are the metrics (loss, accuracy) and the
    /// gradients of the first step. <paramref name="own"/> takes what must be disposed with the backend.
    /// </summary>
    internal static Workload Step(Backend backend, string activation, int batch, Func<IDisposable, IDisposable> own)
    {
        var model = (CompiledModel)own(CreateModel(activation, backend, batch));
        var optimizer = (Optimizer)own(new Adam());
        model.Initialize(1);
        var random = new Random(1);
        var images = new float[batch * 784];
        for (int i = 0; i < images.Length; i++)
            images[i] = (float)random.NextDouble();
        var labels = new float[batch * 10];
        for (int b = 0; b < batch; b++)
            labels[b * 10 + b % 10] = 1f;
        var input = (DeviceBuffer)own(backend.Allocate(images));
        var target = (DeviceBuffer)own(backend.Allocate(labels));
        var metrics = (DeviceBuffer)own(backend.Allocate(MetricSlot.Count));
        return new Workload(() =>
        {
            backend.Fill(metrics, 0f);
            model.ComputeGradients(input, target, batch, step: 1, metrics);
            optimizer.Step(model);
        }, metrics, model.GradientArena);
    }
}

using BenchmarkDotNet.Attributes;
using Prelu.Kernels;
using Prelu.Mnist.Models;

namespace Prelu.Benchmarks;

/// <summary>
/// Inference through the API an app calls, <c>CompiledModel.Predict</c> on host spans (upload, forward in
/// inference mode, softmax, download), with the study's PReLU model: one image, and a batch of 100. The
/// time per image is the mean divided by the batch.
/// </summary>
public class Perf_Predict : BackendWorkloads
{
    [Params(1, 100)]
    public int Images { get; set; } = 1;

    protected override Workload Build(Backend backend)
    {
        var model = Owned(new StudyPRelu(backend, Images));
        model.Initialize(1);
        var random = new Random(1);
        var pixels = new float[Images * 784];
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = (float)random.NextDouble();
        var probabilities = new float[Images * 10];
        var result = Zeros(backend, probabilities.Length); // the answer, where the reference check reads it
        return new Workload(() =>
        {
            model.Predict(pixels, probabilities);
            backend.Upload(probabilities, result);
        }, result);
    }
}

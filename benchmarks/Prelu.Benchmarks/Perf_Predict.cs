using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Prelu.Kernels;
using Prelu.Mnist.Models;

namespace Prelu.Benchmarks;

/// <summary>
/// Inference through the API an app calls, <c>CompiledModel.Predict</c> on host spans (upload, forward in
/// inference mode, softmax, download), with the study's PReLU model: one image, and a batch of 100. The
/// time per image is the mean divided by the batch. Beside the backends, ONNX Runtime (CPU execution provider) runs
/// the same model with the same weights, exported by <see cref="OnnxExport"/>, at one and two intra-op threads with
/// every graph optimisation on, as its documentation recommends for latency; its answer is checked against the
/// reference's before anything is timed.
/// </summary>
public class Perf_Predict : BackendWorkloads
{
    [Params(1, 100)]
    public int Images { get; set; } = 1;

    private readonly List<(InferenceSession Session, OrtValue Input, OrtValue Output)> _onnx = [];
    private float[] _pixels = [], _onnxProbabilities = [];
    private RunOptions? _runOptions;

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
        if (backend is Prelu.Backends.ManagedBackend)
            BuildOnnxRuntime(model, pixels);
        return new Workload(() =>
        {
            model.Predict(pixels, probabilities);
            backend.Upload(probabilities, result);
        }, result);
    }

    // ONNX Runtime's sessions at 1 and 2 threads on the reference's model, their input and output bound once.
    private void BuildOnnxRuntime(CompiledModel model, float[] pixels)
    {
        _pixels = pixels;
        _runOptions = Owned(new RunOptions());
        _onnxProbabilities = new float[Images * 10];
        var bytes = OnnxExport.ToBytes(model);
        var expected = new float[Images * 10];
        model.Predict(pixels, expected);
        foreach (int threads in new[] { 1, 2 })
        {
            using var options = new SessionOptions
            {
                IntraOpNumThreads = threads,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            var session = Owned(new InferenceSession(bytes, options));
            var input = Owned(OrtValue.CreateTensorValueFromMemory(_pixels, [Images, 28, 28, 1]));
            var output = Owned(OrtValue.CreateTensorValueFromMemory(_onnxProbabilities, [Images, 10]));
            _onnx.Add((session, input, output));
            RunOnnx(_onnx.Count - 1);
            Agreement.Check(nameof(Perf_Predict), $"ONNX Runtime, {threads} thread(s)", [expected], [_onnxProbabilities]);
        }
    }

    private float RunOnnx(int which)
    {
        var (session, input, output) = _onnx[which];
        session.Run(_runOptions, ["input"], [input], ["predictions"], [output]);
        return _onnxProbabilities[0];
    }

    /// <summary>ONNX Runtime at one intra-op thread.</summary>
    [Benchmark]
    public float OnnxRuntime1() => RunOnnx(0);

    /// <summary>ONNX Runtime at two intra-op threads (the backends' setting).</summary>
    [Benchmark]
    public float OnnxRuntime2() => RunOnnx(1);
}

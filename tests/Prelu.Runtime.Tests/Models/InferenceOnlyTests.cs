using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Models;

// The study's model and NormalizedNet (tests/Shared/Models.cs), for prediction only: the same layers, so the same
// tensor names and checkpoints.
[InferenceOnly]
[InputShape(28, 28, 1)]
[Conv2D(32, 3)]
[PReLU]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Conv2D(64, 3)]
[PReLU]
[MaxPooling2D(2)]
[Dropout(0.25)]
[Flatten]
[Dense(256)]
[PReLU]
[Dense(10, Activation = "softmax")]
public partial class StudyModelForPrediction;

[InferenceOnly]
[InputShape(8, 8, 2)]
[Conv2D(6, 3, Padding = "same", UseBias = false)]
[BatchNormalization]
[Activation("swish")]
[AveragePooling2D(2)]
[Conv2D(8, 3, Padding = "same")]
[ELU(Alpha = 0.5)]
[BatchNormalization(Scale = false, Momentum = 0.9)]
[GlobalAveragePooling2D]
[Dense(6, Activation = "tanh")]
[Dense(3)]
[Activation("softmax")]
public partial class NormalizedNetForPrediction;

/// <summary>
/// [InferenceOnly]: a model without gradients or backward pass loads a trained twin's checkpoint and predicts, evaluates
/// and exports what the twin does, to the bit, in a smaller arena; training it is refused before anything runs.
/// </summary>
public sealed class InferenceOnlyTests : IDisposable
{
    private readonly ManagedBackend _backend = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-inference-").FullName;

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void A_trained_twins_checkpoint_predicts_the_same_bits_without_gradients()
    {
        using var trained = new NormalizedNet(_backend, 4);
        trained.Initialize(3);
        // A few steps, so that weights and moving statistics are a trained model's, not the initial ones.
        var features = Det.Floats(16 * trained.InputLength, 5, -1, 1);
        var labels = Enumerable.Range(0, 16).SelectMany(i => Enumerable.Range(0, 3).Select(k => k == i % 3 ? 1f : 0f)).ToArray();
        using (var trainer = new Trainer(trained, new Adam()))
            trainer.Fit(new Dataset(features, [8, 8, 2], labels, targetLength: 3), new FitOptions(Epochs: 2, BatchSize: 4, Verbose: 0));
        string checkpoint = Path.Combine(_folder, "net.safetensors");
        Checkpoint.Save(checkpoint, trained);

        using var predicting = new NormalizedNetForPrediction(_backend, 4);
        Checkpoint.Load(checkpoint, predicting);
        Assert.False(predicting.IsTrainable);
        Assert.Equal(0, predicting.GradientArena.Length);
        Assert.True(NormalizedNetForPrediction.ActivationFloatsPerSample < NormalizedNet.ActivationFloatsPerSample,
            $"{NormalizedNetForPrediction.ActivationFloatsPerSample} floats per sample, the trainable twin's {NormalizedNet.ActivationFloatsPerSample}");
        foreach (int count in new[] { 1, 4 })
        {
            var input = Det.Floats(count * trained.InputLength, 9, -1, 1);
            var expected = new float[count * 3];
            var actual = new float[count * 3];
            trained.Predict(input, expected);
            predicting.Predict(input, actual);
            Assert.Equal(expected, actual);
        }
        using var evaluator = new Trainer(predicting, new Adam());
        using var trainedEvaluator = new Trainer(trained, new Adam());
        var data = new Dataset(features, [8, 8, 2], labels, targetLength: 3);
        Assert.Equal(trainedEvaluator.Evaluate(data, 4).Loss, evaluator.Evaluate(data, 4).Loss);
        // The same graph and weights: the ONNX files differ in the model's name alone.
        Assert.Equal(OnnxExport.Build(trained).Graph.Initializer, OnnxExport.Build(predicting).Graph.Initializer);
    }

    [Fact]
    public void The_studys_model_for_prediction_has_no_gradient_buffers_and_refuses_training()
    {
        using var model = new StudyModelForPrediction(_backend, 2);
        model.Initialize(1);
        Assert.True(StudyModelForPrediction.ActivationFloatsPerSample < StudyModel.ActivationFloatsPerSample);
        Assert.Equal(StudyModel.ParameterArenaLength, StudyModelForPrediction.ParameterArenaLength);

        var images = new LabeledImages(new byte[2 * 784], new byte[] { 1, 2 }, 28, 28, 1, 10);
        using var trainer = new Trainer(model, new Adam());
        Refused.Assert<InvalidOperationException>(() => trainer.Fit(images, new FitOptions(1, 2, Verbose: 0)), null,
            "StudyModelForPrediction is declared [InferenceOnly]: it predicts and cannot be trained (Trainer.Fit)");
        using var input = _backend.Allocate(2 * 784);
        using var targets = _backend.Allocate(2 * 10);
        using var metrics = _backend.Allocate(Prelu.Kernels.MetricSlot.Count);
        Refused.Assert<InvalidOperationException>(() => model.ComputeGradients(input, targets, 2, 1, metrics), null, "(ComputeGradients)");
        Refused.Assert<InvalidOperationException>(() => model.Backward(input, targets, 2), null, "StudyModelForPrediction is declared [InferenceOnly]: it has no backward pass");
        Assert.Equal(0, trainer.Optimizer.Iterations);
        var probabilities = new float[10];
        model.Predict(new float[784], probabilities);
        Assert.Equal(1, probabilities.Sum(), 5);
    }
}

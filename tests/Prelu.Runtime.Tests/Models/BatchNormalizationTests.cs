using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Models;

/// <summary>
/// BatchNormalization in a generated model, as Keras has it: trainable gamma and beta, non-trainable moving
/// statistics that training moves and inference uses, counted as "Non-trainable params", kept by
/// checkpoints under names that PyTorch's modules load (the fixture script loads one).
/// </summary>
public sealed class BatchNormalizationTests
{
    [Fact]
    public void The_summary_counts_the_moving_statistics_as_non_trainable()
    {
        using var backend = new ManagedBackend();
        using var model = new CheckpointedBatchNormNet(backend, 1);
        const string expected = """
            Model: "CheckpointedBatchNormNet"
            ________________________________________________________________________________
             Layer (type)                               Output Shape              Param #
            ================================================================================
             conv2d (Conv2D)                            (None, 4, 4, 3)           54
             batch_normalization (BatchNormalization)   (None, 4, 4, 3)           12
             re_lu (ReLU)                               (None, 4, 4, 3)           0
             flatten (Flatten)                          (None, 48)                0
             dense (Dense)                              (None, 8)                 384
             batch_normalization_1 (BatchNormalization) (None, 8)                 32
             activation (Activation)                    (None, 8)                 0
             dense_1 (Dense)                            (None, 3)                 27
            ================================================================================
            Total params: 509
            Trainable params: 487
            Non-trainable params: 22
            ________________________________________________________________________________

            """;

        Assert.Equal(expected.ReplaceLineEndings("\n"), model.Summary());
        Assert.Equal(487, model.ParameterCount);
        Assert.Equal(22, model.StateCount);
        Assert.Equal(["batch_normalization.moving_mean", "batch_normalization.moving_variance", "batch_normalization_1.moving_mean",
            "batch_normalization_1.moving_variance"], model.States.Select(s => s.Name));
        Assert.Contains("batch_normalization.gamma", model.Parameters.Select(p => p.Name));
        Assert.Contains("batch_normalization_1.beta", model.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void Training_moves_the_moving_statistics_and_inference_normalises_with_them()
    {
        using var backend = new ManagedFloat64Backend();
        using var model = new NormOnly(backend, 3);
        model.Initialize(1);
        Assert.Equal([0f, 0f, 0f, 0f], model.GetParameter("norm.moving_mean"));
        Assert.Equal([1f, 1f, 1f, 1f], model.GetParameter("norm.moving_variance"));
        float[] x = [1, 2, 3, 4, -1, 0, 5, 2, 3, 1, 1, 0];
        using var input = backend.Allocate(x);

        model.Forward(input, 3, training: true, step: 1);

        // Keras: moving = moving * 0.99 + batch * 0.01, with the batch's biased variance.
        for (int c = 0; c < 4; c++)
        {
            double mean = (x[c] + x[4 + c] + x[8 + c]) / 3.0;
            double variance = (Math.Pow(x[c] - mean, 2) + Math.Pow(x[4 + c] - mean, 2) + Math.Pow(x[8 + c] - mean, 2)) / 3.0;
            Assert.Equal(0.01 * mean, model.GetParameter("norm.moving_mean")[c], 6);
            Assert.Equal(0.99 + 0.01 * variance, model.GetParameter("norm.moving_variance")[c], 6);
        }

        // Inference uses the moving statistics and leaves them as they are; so do evaluation and prediction.
        model.SetParameter("norm.moving_mean", [1f, -1f, 0.5f, 0f]);
        model.SetParameter("norm.moving_variance", [4f, 1f, 0.25f, 2f]);
        model.SetParameter("norm.gamma", [2f, 1f, 1f, 0.5f]);
        model.SetParameter("norm.beta", [0f, 1f, -1f, 0f]);
        model.Forward(input, 3, training: false, step: 0);
        var normalised = backend.ToArray(model.LayerOutputs(3)[0].Output);
        float[] mm = [1f, -1f, 0.5f, 0f], mv = [4f, 1f, 0.25f, 2f], gamma = [2f, 1f, 1f, 0.5f], beta = [0f, 1f, -1f, 0f];
        for (int i = 0; i < 12; i++)
            Assert.Equal(gamma[i % 4] * (x[i] - mm[i % 4]) / Math.Sqrt(mv[i % 4] + 0.001) + beta[i % 4], normalised[i], 5);
        Assert.Equal(mm, model.GetParameter("norm.moving_mean"));
        var probabilities = new float[3 * 2];
        model.Predict(x, probabilities);
        Assert.Equal(mm, model.GetParameter("norm.moving_mean"));
        Assert.Equal(mv, model.GetParameter("norm.moving_variance"));
    }

    [Fact]
    public void Initialize_draws_the_states_and_a_checkpoint_keeps_them()
    {
        using var backend = new ManagedBackend();
        using var model = Trained(backend);
        string path = Path.Combine(Path.GetTempPath(), $"prelu-bn-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, model);
            using var loaded = new CheckpointedBatchNormNet(backend, 4);
            loaded.Initialize(99);
            Checkpoint.Load(path, loaded);
            foreach (var tensor in model.Tensors)
                Assert.Equal(model.GetParameter(tensor.Name), loaded.GetParameter(tensor.Name));

            // A file without a state tensor is another model's: refused, naming the tensor, the model untouched.
            var tensors = SafeTensors.Read(path).Values.Where(t => t.Name != "batch_normalization_1.moving_variance").ToList();
            SafeTensors.Write(path, tensors, new Dictionary<string, string> { ["format"] = Checkpoint.FormatName });
            using var fresh = new CheckpointedBatchNormNet(backend, 4);
            fresh.Initialize(5);
            var before = fresh.GetParameter("batch_normalization.moving_mean");
            var error = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(path, fresh));
            Assert.Equal("batch_normalization_1.moving_variance", error.Tensor);
            Assert.Equal(before, fresh.GetParameter("batch_normalization.moving_mean"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The checkpoint in tests/reference is what this model writes today, tensor for tensor; the fixture script
    /// loaded that very file into PyTorch modules by the names README.md documents (the checkpoints paragraph)
    /// and stored the probabilities PyTorch computed in inference mode; the model, loaded from the same file, agrees.
    /// To write the file again: PRELU_WRITE_REFERENCE=1 and this test, then tests/reference/make_fixture.py.
    /// </summary>
    [Fact]
    public void A_checkpoint_loads_into_pytorch_by_its_tensor_names_and_predicts_the_same()
    {
        string committed = Path.Combine(AppContext.BaseDirectory, "reference", "batchnorm-checkpoint.safetensors");
        using var backend = new ManagedBackend();
        using var model = Trained(backend);
        if (Environment.GetEnvironmentVariable("PRELU_WRITE_REFERENCE") == "1")
            Checkpoint.Save(Path.Combine(RepositoryRoot(), "tests", "reference", "batchnorm-checkpoint.safetensors"), model);

        var written = Path.Combine(Path.GetTempPath(), $"prelu-bn-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(written, model);
            var expected = SafeTensors.Read(committed);
            var actual = SafeTensors.Read(written);
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (name, tensor) in expected)
            {
                Assert.Equal(tensor.Shape, actual[name].Shape);
                Assert.Equal(tensor.Values, actual[name].Values);
            }
        }
        finally
        {
            File.Delete(written);
        }

        using var loaded = new CheckpointedBatchNormNet(backend, 5);
        Checkpoint.Load(committed, loaded);
        var probabilities = new float[5 * 3];
        loaded.Predict(Det.Floats(5 * 72, 77), probabilities);
        Close.Assert(Fixture.Get("bn_checkpoint.probabilities"), probabilities, Close.Forward, "PyTorch's probabilities from the checkpoint");
    }

    // A few Adam steps on fixed data: gamma, beta and the moving statistics all away from their initial values.
    private static CheckpointedBatchNormNet Trained(ManagedBackend backend)
    {
        var model = new CheckpointedBatchNormNet(backend, 4);
        model.Initialize(5);
        using var input = backend.Allocate(Det.Floats(4 * 72, 31));
        using var labels = backend.Allocate(Det.OneHot(4, 3));
        using var metrics = backend.Allocate(MetricSlot.Count);
        using var m = backend.Allocate(model.ParameterArena.Length);
        using var v = backend.Allocate(model.ParameterArena.Length);
        for (int step = 1; step <= 5; step++)
        {
            model.ComputeGradients(input, labels, 4, (ulong)step, metrics);
            backend.AdamUpdate(new AdamSettings(LearningRate: 0.05f), step, model.ParameterArena, model.GradientArena, m, v);
        }
        return model;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Prelu.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new DirectoryNotFoundException("no Prelu.sln above the test's folder");
    }
}

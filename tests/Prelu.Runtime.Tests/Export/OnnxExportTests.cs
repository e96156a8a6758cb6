using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Export;

/// <summary>
/// Every test model (each PReLU sharing, each activation fused and on its own, BatchNormalization of maps and of flat
/// inputs, Normalization, both poolings, 'same' and 'valid', strides, depthwise convolutions, every merge, Concatenate)
/// exported to ONNX, loaded by ONNX Runtime (its loader is the file's validator) and run at batch 1 and 7: it predicts
/// what Predict does. The bad inputs are refused, naming the tensor or the path, leaving no file behind.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly ManagedBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    public static TheoryData<string> Models => [.. TestModels.All.Select(t => t.Name)];

    private CompiledModel Make(string name, int batch = 7)
    {
        var model = TestModels.Create(TestModels.All.Single(t => t.Name == name), _backend, batch);
        model.Initialize(5);
        // Statistics a trained model would hold: moving means and variances, Normalization's mean and variance, not 0 and 1.
        foreach (var state in model.States)
        {
            var values = state.Name.EndsWith("mean", StringComparison.Ordinal)
                ? Det.Floats(state.Length, 11, -0.5, 0.5)
                : Det.Floats(state.Length, 12, 0.5, 2);
            model.SetParameter(state.Name, values);
        }
        // PReLU's alphas start at one value (zeros, by Keras's default): a trained layer's differ element by element.
        foreach (var alpha in model.Parameters.Where(p => p.Name.EndsWith(".alpha", StringComparison.Ordinal)))
            model.SetParameter(alpha.Name, Det.Floats(alpha.Length, 13, -0.5, 0.5));
        return model;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Onnx_runtime_predicts_what_predict_does_at_batch_1_and_7(string name)
    {
        using var model = Make(name);
        using var session = new InferenceSession(OnnxExport.ToBytes(model));
        Assert.Equal("input", session.InputMetadata.Keys.Single());
        Assert.Equal("predictions", session.OutputMetadata.Keys.Single());
        foreach (int batch in new[] { 1, 7 })
        {
            var input = Det.Floats(batch * model.InputLength, 21, -1, 1);
            var expected = new float[batch * model.OutputLength];
            model.Predict(input, expected);
            var actual = Run(session, input, [batch, .. model.InputShape]);
            Close.Assert(expected, actual, Close.Forward, $"{name} at batch {batch}: ONNX Runtime against Predict");
        }
    }

    private static float[] Run(InferenceSession session, float[] input, int[] shape)
    {
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(input, shape))]);
        return results.Single().AsEnumerable<float>().ToArray();
    }

    [Fact]
    public void The_file_is_written_whole_and_names_its_layers_and_weights_as_the_checkpoint_does()
    {
        using var model = Make(nameof(StudyModel), 2);
        var folder = Directory.CreateTempSubdirectory("prelu-onnx-");
        try
        {
            string path = Path.Combine(folder.FullName, "study.onnx");
            OnnxExport.Save(model, path);
            Assert.Equal([path], Directory.GetFiles(folder.FullName));
            var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.Equal(OnnxExport.Opset, proto.OpsetImport.Single().Version);
            Assert.Equal(model.Parameters.Select(p => p.Name).Order(), proto.Graph.Initializer.Select(t => t.Name).Order());
            Assert.Equal(["conv2d/conv", "p_re_lu", "max_pooling2d"], proto.Graph.Node.Skip(1).Take(3).Select(n => n.Name));
            Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "Dropout");
            using var session = new InferenceSession(path);
            Assert.Equal([-1, 28, 28, 1], session.InputMetadata["input"].Dimensions);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_model_without_weights_one_holding_a_nan_and_a_path_that_cannot_be_written_are_refused()
    {
        using var fresh = TestModels.Create(typeof(Mlp), _backend, 2);
        Refused.Assert<InvalidOperationException>(() => OnnxExport.ToBytes(fresh), null, "Mlp has no weights yet: call Initialize, Checkpoint.Load or Fit");

        using var model = Make(nameof(Mlp), 2);
        var kernel = model.GetParameter("dense_1.kernel");
        kernel[3] = float.NaN;
        model.SetParameter("dense_1.kernel", kernel);
        Refused.Assert<InvalidOperationException>(() => OnnxExport.ToBytes(model), null, "Mlp: dense_1.kernel holds NaN at element 3");

        using var good = Make(nameof(Mlp), 2);
        var folder = Directory.CreateTempSubdirectory("prelu-onnx-");
        try
        {
            string path = Path.Combine(folder.FullName, "missing-folder", "mlp.onnx");
            Refused.Assert<IOException>(() => OnnxExport.Save(good, path), null, $"{path}: the ONNX file cannot be written");
            Assert.Empty(Directory.GetFileSystemEntries(folder.FullName));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}

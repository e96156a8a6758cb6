using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Checkpoints;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-checkpoint-").FullName;
    private readonly ManagedBackend _backend = new();

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_folder, name);

    // A model with some Adam state, so that every tensor of a checkpoint holds something.
    private (StudyModel Model, Adam Optimizer) Trained(ulong seed)
    {
        var model = new StudyModel(_backend, 8);
        model.Initialize(seed);
        var optimizer = new Adam();
        using var input = _backend.Allocate(new float[8 * 784].Select((_, i) => (i % 29) / 29f).ToArray());
        using var labels = _backend.Allocate(new float[80].Select((_, i) => i % 11 == 0 ? 1f : 0f).ToArray());
        using var metrics = _backend.Allocate(Prelu.Kernels.MetricSlot.Count);
        model.ComputeGradients(input, labels, 8, 1, metrics);
        optimizer.Step(model);
        return (model, optimizer);
    }

    [Fact]
    public void A_checkpoint_round_trips_parameters_and_optimizer_state_exactly()
    {
        var (model, optimizer) = Trained(1);
        var (other, otherOptimizer) = Trained(2);
        using (model)
        using (optimizer)
        using (other)
        using (otherOptimizer)
        {
            optimizer.Step(model); // three steps against the other's one: the count must come from the file
            optimizer.Step(model);
            Checkpoint.Save(PathOf("a.safetensors"), model, optimizer);
            Checkpoint.Load(PathOf("a.safetensors"), other, otherOptimizer);

            Assert.Equal(3, otherOptimizer.Iterations);
            Assert.Equal(_backend.ToArray(model.ParameterArena), _backend.ToArray(other.ParameterArena));
            foreach (var ((_, mine), (_, theirs)) in optimizer.State(model).Zip(otherOptimizer.State(other)))
                Assert.Equal(_backend.ToArray(mine), _backend.ToArray(theirs));
            Assert.Equal(optimizer.Iterations, otherOptimizer.Iterations);
        }
    }

    [Fact]
    public void The_file_is_plain_safetensors_with_kerass_names_and_shapes()
    {
        var (model, optimizer) = Trained(1);
        using (model)
        using (optimizer)
        {
            Checkpoint.Save(PathOf("a.safetensors"), model, optimizer);
            var (tensors, metadata) = SafeTensors.ReadWithMetadata(PathOf("a.safetensors"));

            Assert.Equal([3, 3, 1, 32], tensors["conv2d.kernel"].Shape);
            Assert.Equal([26, 26, 32], tensors["p_re_lu.alpha"].Shape);
            Assert.Equal([1600, 256], tensors["dense.kernel"].Shape);
            Assert.Equal([26, 26, 32], tensors["optimizer.m.p_re_lu.alpha"].Shape);
            Assert.Equal("adam", metadata["optimizer"]);
            Assert.Equal("1", metadata["iterations"]);
            Assert.Equal("StudyModel", metadata["model"]);
        }
    }

    [Fact]
    public void Loading_into_a_model_of_another_shape_is_a_clear_error_and_changes_nothing()
    {
        var (model, optimizer) = Trained(1);
        using (model)
        using (optimizer)
        {
            Checkpoint.Save(PathOf("prelu.safetensors"), model, optimizer);
            using var channelWise = new ChannelPReluCnn(_backend, 8);
            channelWise.Initialize(5);
            var before = _backend.ToArray(channelWise.ParameterArena);

            var error = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(PathOf("prelu.safetensors"), channelWise));

            Assert.Equal("p_re_lu.alpha", error.Tensor);
            Assert.Contains("shape [26, 26, 32] in the file, the model's is [1, 1, 32]", error.Message, StringComparison.Ordinal);
            Assert.Equal(before, _backend.ToArray(channelWise.ParameterArena));

            using var relu = new ReluCnn(_backend, 8);
            var extra = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(PathOf("prelu.safetensors"), relu));
            Assert.Contains("is not a parameter of ReluCnn", extra.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("truncated", ".data_offsets", "the file is truncated or the header is wrong")]
    [InlineData("bad header", "header", "is not valid JSON")]
    [InlineData("wrong dtype", ".dtype", "is F64; expected F32 (float32)")]
    public void A_damaged_checkpoint_is_a_clear_error(string damage, string field, string problem)
    {
        var (model, optimizer) = Trained(1);
        using (model)
        using (optimizer)
        {
            var path = PathOf("damaged.safetensors");
            Checkpoint.Save(path, model);
            var bytes = File.ReadAllBytes(path);
            int headerLength = (int)BitConverter.ToUInt64(bytes, 0);
            switch (damage)
            {
                case "truncated":
                    bytes = bytes[..(bytes.Length / 2)];
                    break;
                case "bad header":
                    bytes[8] = (byte)'x'; // the header's opening brace
                    break;
                default:
                    var header = System.Text.Encoding.UTF8.GetString(bytes, 8, headerLength).Replace("\"F32\"", "\"F64\"", StringComparison.Ordinal);
                    System.Text.Encoding.UTF8.GetBytes(header).CopyTo(bytes, 8);
                    break;
            }
            File.WriteAllBytes(path, bytes);

            var before = _backend.ToArray(model.ParameterArena);

            var error = Assert.Throws<SafeTensorsFormatException>(() => Checkpoint.Load(path, model));

            Assert.Equal(path, error.FilePath);
            Assert.EndsWith(field, error.Field, StringComparison.Ordinal);
            Assert.Contains(problem, error.Message, StringComparison.Ordinal);
            Assert.Equal(before, _backend.ToArray(model.ParameterArena)); // nothing loaded from a damaged file
        }
    }

    [Fact]
    public void A_crash_between_writing_and_renaming_leaves_the_previous_checkpoint_intact()
    {
        var (model, optimizer) = Trained(1);
        using (model)
        using (optimizer)
        {
            var path = PathOf("checkpoint.safetensors");
            Checkpoint.Save(path, model, optimizer);
            var good = File.ReadAllBytes(path);
            optimizer.Step(model); // the model moves on

            Assert.Throws<IOException>(() => Checkpoint.Save(path, model, optimizer, beforeRename: () => throw new IOException("simulated crash")));

            Assert.Equal(good, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(_folder));
        }
    }

    // The saved file again, with a tensor or a metadata entry taken out or changed.
    private static void Rewrite(string path, Func<string, bool> keepTensor, Action<Dictionary<string, string>>? editMetadata = null)
    {
        var (tensors, metadata) = SafeTensors.ReadWithMetadata(path);
        var newMetadata = metadata.ToDictionary();
        editMetadata?.Invoke(newMetadata);
        SafeTensors.Write(path, tensors.Values.Where(t => keepTensor(t.Name)), newMetadata);
    }

    [Theory]
    [InlineData("dense.bias", "missing; StudyModel needs it with shape [256]")]
    [InlineData("optimizer.v.dense_1.kernel", "missing; the adam state needs it")]
    public void A_checkpoint_missing_a_tensor_is_refused_by_name_and_changes_nothing(string missing, string problem)
    {
        var (model, optimizer) = Trained(1);
        var (other, otherOptimizer) = Trained(2);
        using (model)
        using (optimizer)
        using (other)
        using (otherOptimizer)
        {
            var path = PathOf("partial.safetensors");
            Checkpoint.Save(path, model, optimizer);
            Rewrite(path, name => name != missing);
            var before = _backend.ToArray(other.ParameterArena);

            var error = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(path, other, otherOptimizer));

            Assert.Equal(path, error.FilePath);
            Assert.Equal(missing, error.Tensor);
            Assert.Contains(problem, error.Message, StringComparison.Ordinal);
            Assert.Equal(before, _backend.ToArray(other.ParameterArena));
            Assert.Equal(1, otherOptimizer.Iterations);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("-3")]
    [InlineData("many")]
    public void Optimizer_state_without_a_valid_step_count_is_refused(string? iterations)
    {
        var (model, optimizer) = Trained(1);
        using (model)
        using (optimizer)
        {
            var path = PathOf("steps.safetensors");
            Checkpoint.Save(path, model, optimizer);
            Rewrite(path, _ => true, metadata =>
            {
                metadata.Remove("iterations");
                if (iterations is not null)
                    metadata["iterations"] = iterations;
            });

            var error = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(path, model, optimizer));

            Assert.Equal("__metadata__.iterations", error.Tensor);
            Assert.Contains("missing or not a count", error.Message, StringComparison.Ordinal);
            Checkpoint.Load(path, model); // the weights alone load
        }
    }

    [Fact]
    public void Weights_saved_without_an_optimizer_or_with_another_load_and_leave_the_optimizer_fresh()
    {
        var (model, optimizer) = Trained(1);
        var (other, otherOptimizer) = Trained(2);
        using (model)
        using (optimizer)
        using (other)
        using (otherOptimizer)
        {
            Checkpoint.Save(PathOf("weights.safetensors"), model);
            var (tensors, metadata) = SafeTensors.ReadWithMetadata(PathOf("weights.safetensors"));
            Assert.DoesNotContain(tensors.Keys, name => name.StartsWith("optimizer.", StringComparison.Ordinal));
            Assert.False(metadata.ContainsKey("optimizer"));
            Assert.Equal("1", metadata["seed"]);
            Assert.Equal(Checkpoint.FormatName, metadata["format"]);

            using var sgd = new Sgd(new SgdSettings(0.1f, 0.9f));
            Checkpoint.Save(PathOf("sgd.safetensors"), model, sgd);
            foreach (var file in new[] { "weights.safetensors", "sgd.safetensors" })
            {
                using var fresh = new Adam();
                Checkpoint.Load(PathOf(file), other, fresh);

                Assert.Equal(_backend.ToArray(model.ParameterArena), _backend.ToArray(other.ParameterArena));
                Assert.Equal(0, fresh.Iterations);
                Assert.All(fresh.State(other), s => Assert.All(_backend.ToArray(s.Buffer), v => Assert.Equal(0f, v)));
            }
        }
    }
}

using System.Globalization;

namespace Prelu;

/// <summary>A checkpoint that does not fit the model it is loaded into; the message names the file, the tensor and both shapes.</summary>
public sealed class CheckpointMismatchException(string path, string tensor, string problem)
    : IOException($"{path}: {tensor}: {problem}")
{
    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; } = path;
    /// <summary>The tensor missing, extra or of another shape.</summary>
    public string Tensor { get; } = tensor;
}

/// <summary>
/// Model (and optimizer) state in a safetensors file. Layout, so that PyTorch or numpy can read it:
/// one float32 tensor per parameter, named "layer.kernel" / "layer.bias" / "layer.alpha" with Keras's
/// shapes (Conv2D kernel (KH, KW, Cin, Cout), Dense kernel (In, Out), PReLU alpha (features, 1 on shared
/// axes)), and per non-trainable tensor ("layer.moving_mean", "layer.moving_variance": BatchNormalization's
/// "layer.gamma" and "layer.beta" are parameters); optimizer state as "optimizer.{state}.{parameter}" (Adam: m and v); metadata "format",
/// "model", "optimizer", "iterations", "seed". Written through a temporary file and a rename.
/// </summary>
public static class Checkpoint
{
    /// <summary>The checkpoint format's name and version, in the file's metadata.</summary>
    public const string FormatName = "prelu-checkpoint/1";
    private const string OptimizerPrefix = "optimizer.";

    /// <summary>Tensors and metadata keys under this prefix belong to the training loop (see <see cref="Trainer"/>'s resume).</summary>
    internal const string TrainerPrefix = "trainer.";

    /// <summary>Writes the model's parameters and state (and the optimizer's, when given) to <paramref name="path"/>, atomically: to a temporary file renamed into place, which <paramref name="beforeRename"/> (tests) runs before.</summary>
    public static void Save(string path, CompiledModel model, Optimizer? optimizer = null, Action? beforeRename = null) =>
        Save(path, model, optimizer, new Dictionary<string, string>(), [], beforeRename);

    /// <summary>A checkpoint with the training loop's state beside the model's and the optimizer's.</summary>
    internal static void Save(string path, CompiledModel model, Optimizer? optimizer, IReadOnlyDictionary<string, string> trainerMetadata,
        IReadOnlyList<NamedTensor> trainerTensors, Action? beforeRename)
    {
        var tensors = model.Tensors.Select(p => new NamedTensor(p.Name, p.Shape, model.GetParameter(p.Name))).ToList();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["model"] = model.Name,
            ["seed"] = model.Seed.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in trainerMetadata)
            metadata[key] = value;
        tensors.AddRange(trainerTensors);
        if (optimizer is not null)
        {
            metadata["optimizer"] = optimizer.Name;
            metadata["iterations"] = optimizer.Iterations.ToString(CultureInfo.InvariantCulture);
            foreach (var (state, buffer) in optimizer.State(model))
            {
                var values = model.Backend.ToArray(buffer);
                foreach (var p in model.Parameters)
                    tensors.Add(new NamedTensor($"{OptimizerPrefix}{state}.{p.Name}", p.Shape, values.AsSpan(p.Offset, p.Length).ToArray()));
            }
        }
        SafeTensors.Write(path, tensors, metadata, beforeRename);
    }

    /// <summary>
    /// Loads parameters (and, when given and present, optimizer state) into <paramref name="model"/>.
    /// Every tensor is checked before anything is changed: a checkpoint that does not fit leaves the model as it was.
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">The file is damaged.</exception>
    /// <exception cref="CheckpointMismatchException">It holds another model's tensors.</exception>
    public static void Load(string path, CompiledModel model, Optimizer? optimizer = null)
    {
        var (tensors, metadata) = SafeTensors.ReadWithMetadata(path);
        Load(path, tensors, metadata, model, optimizer);
    }

    /// <summary>As <see cref="Load(string, CompiledModel, Optimizer?)"/>, from a file already read (the training loop reads its own state from it too).</summary>
    internal static void Load(string path, IReadOnlyDictionary<string, NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata,
        CompiledModel model, Optimizer? optimizer)
    {
        var modelTensors = model.Tensors.ToList();
        foreach (var p in modelTensors)
        {
            if (!tensors.TryGetValue(p.Name, out var tensor))
                throw new CheckpointMismatchException(path, p.Name, $"missing; {model.Name} needs it with shape [{Dims(p.Shape)}] (the file holds {Names(tensors)})");
            CheckShape(path, tensor, p);
        }
        var known = modelTensors.Select(p => p.Name).ToHashSet();
        foreach (var name in tensors.Keys)
        {
            if (!known.Contains(name) && !name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) && !name.StartsWith(TrainerPrefix, StringComparison.Ordinal))
                throw new CheckpointMismatchException(path, name, $"is not a parameter of {model.Name} (it has {string.Join(", ", known)})");
        }

        bool restoreOptimizer = optimizer is not null && metadata.TryGetValue("optimizer", out var name2) && name2 == optimizer.Name;
        var states = restoreOptimizer ? optimizer!.State(model) : [];
        foreach (var (state, _) in states)
        {
            foreach (var p in model.Parameters)
            {
                var key = $"{OptimizerPrefix}{state}.{p.Name}";
                if (!tensors.TryGetValue(key, out var tensor))
                    throw new CheckpointMismatchException(path, key, $"missing; the {optimizer!.Name} state needs it");
                CheckShape(path, tensor, p);
            }
        }
        long iterations = 0;
        if (restoreOptimizer && (!metadata.TryGetValue("iterations", out var text) || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out iterations)))
            throw new CheckpointMismatchException(path, "__metadata__.iterations", "missing or not a count; the optimizer state cannot be resumed without it");

        // Everything fits: now change the model, which no prediction may read half-loaded.
        using var use = model.Exclusive("Checkpoint.Load");
        foreach (var p in modelTensors)
            model.SetParameter(p.Name, tensors[p.Name].Values);
        foreach (var (state, buffer) in states)
        {
            var values = new float[buffer.Length];
            foreach (var p in model.Parameters)
                tensors[$"{OptimizerPrefix}{state}.{p.Name}"].Values.CopyTo(values, p.Offset);
            model.Backend.Upload(values, buffer);
        }
        if (restoreOptimizer)
            optimizer!.RestoreIterations(iterations);
    }

    private static void CheckShape(string path, NamedTensor tensor, ParameterInfo parameter)
    {
        if (!tensor.Shape.SequenceEqual(parameter.Shape))
            throw new CheckpointMismatchException(path, tensor.Name, $"shape [{Dims(tensor.Shape)}] in the file, the model's is [{Dims(parameter.Shape)}]");
    }

    private static string Dims(IEnumerable<int> shape) => string.Join(", ", shape);

    private static string Names(IReadOnlyDictionary<string, NamedTensor> tensors) =>
        tensors.Count == 0 ? "no tensors" : string.Join(", ", tensors.Keys.Where(k => !k.StartsWith(OptimizerPrefix, StringComparison.Ordinal) && !k.StartsWith(TrainerPrefix, StringComparison.Ordinal)));
}

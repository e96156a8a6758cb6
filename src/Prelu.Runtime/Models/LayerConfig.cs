namespace Prelu;

/// <summary>
/// A layer as Keras's <c>layer.get_config()</c> describes it, which the generator writes for every layer of a model
/// (<see cref="CompiledModel.Layers"/>): enough to rebuild the model elsewhere with its weights (the ONNX exporter does).
/// </summary>
/// <param name="Name">The layer's name; its tensors are "name.kernel", "name.bias", ... in checkpoints.</param>
/// <param name="Type">Keras's class name: "Conv2D", "Dense", "BatchNormalization", "Add", ...</param>
/// <param name="Inputs">The layers it reads, in order, by name; "input" is the model's input.</param>
/// <param name="OutputShape">Its output's shape for one sample (no batch axis): (height, width, channels) or (features).</param>
/// <param name="Config">Its arguments by Keras's names, each as Keras prints it: ("kernel_size", "[3, 3]"), ("padding", "same").</param>
public sealed record LayerConfig(string Name, string Type, IReadOnlyList<string> Inputs, IReadOnlyList<int> OutputShape,
    IReadOnlyList<(string Key, string Value)> Config)
{
    /// <summary>The argument <paramref name="key"/>, or null when the layer has none by that name.</summary>
    public string? this[string key]
    {
        get
        {
            foreach (var (name, value) in Config)
            {
                if (name == key)
                    return value;
            }
            return null;
        }
    }

    /// <summary>An argument that is a list of integers ("[3, 3]", "[1, 2]", "[]").</summary>
    public int[] Ints(string key) => (this[key] ?? throw Missing(key)).Trim('[', ']')
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>An argument that is a number ("0.001", "32").</summary>
    public double Number(string key) => double.Parse(this[key] ?? throw Missing(key), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An argument that is a flag ("true", "false").</summary>
    public bool Flag(string key) => (this[key] ?? throw Missing(key)) == "true";

    private KeyNotFoundException Missing(string key) =>
        new($"layer {Name} ({Type}) has no argument '{key}'; it has {string.Join(", ", Config.Select(c => c.Key))}");
}

using Classifier;
using Prelu;
using Predictor;

// Predictor: classifies images with a checkpoint the Classifier sample trained, and does nothing else: its models are
// declared [InferenceOnly], so the app carries no training code and allocates no gradient.
//   Predictor [--model mlp|cnn] --checkpoint FILE IMAGE...     (28x28 PNGs, or IDX image files)
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Predictor [--model mlp|cnn] --checkpoint FILE IMAGE...");
    return 2;
}
var options = new Dictionary<string, string>();
var files = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
        options[args[i]] = args[++i];
    else
        files.Add(args[i]);
}
string modelName = options.GetValueOrDefault("--model", "cnn");
try
{
    using var backend = BackendChoice.Create(options.GetValueOrDefault("--backend", "auto"), threads: 0);
    using CompiledModel model = modelName switch
    {
        "mlp" => new DigitMlp(backend, maxBatchSize: 1),
        "cnn" => new DigitCnn(backend, maxBatchSize: 1),
        _ => throw new ArgumentException($"--model: '{modelName}' is not a model of this sample; choose mlp or cnn"),
    };
    Checkpoint.Load(options.GetValueOrDefault("--checkpoint", $"{modelName}.safetensors"), model);
    var probabilities = new float[model.OutputLength];
    foreach (var (label, pixels) in files.SelectMany(SampleImages.Read))
    {
        model.Predict(pixels, probabilities);
        int best = 0;
        for (int k = 1; k < probabilities.Length; k++)
            best = probabilities[k] > probabilities[best] ? k : best;
        Console.WriteLine($"{label}: {best} ({probabilities[best]:F4})");
    }
    return 0;
}
catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or KeyNotFoundException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

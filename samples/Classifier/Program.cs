using Classifier;
using Prelu;
using Prelu.Kernels; // Backend, the type Create below takes
using StbImageSharp;
using StbImageWriteSharp;

// Classifier: train a network of your own on MNIST, save it, and classify images with it.
//   train   [--model mlp|cnn] [--epochs N] [--images N] [--checkpoint FILE] [--backend NAME]
//   predict [--model mlp|cnn] --checkpoint FILE IMAGE...     (28x28 PNGs, or IDX image files)
//   evaluate [--model mlp|cnn] --checkpoint FILE [--images N] (loss and accuracy on the first N MNIST test images)
//   export  --count N FOLDER                                  (MNIST test images as PNG, to try predict on)
//   to-onnx [--model mlp|cnn] --checkpoint FILE --onnx FILE   (the trained model as an ONNX file, for ONNX Runtime)
//   own-data [--backend NAME]                                 (a regression and a binary classifier on arrays: YourOwnData.cs)
const int Batch = 100;
if (args.Length == 0 || args[0] is not ("train" or "predict" or "evaluate" or "export" or "to-onnx" or "own-data"))
{
    Console.Error.WriteLine("usage: Classifier train|predict|evaluate|export|to-onnx|own-data [options]; see Program.cs");
    return 2;
}
var options = Options(args[1..], out var files);
string modelName = options.GetValueOrDefault("--model", "cnn");
string checkpoint = options.GetValueOrDefault("--checkpoint", $"{modelName}.safetensors");
try
{
    switch (args[0])
    {
        case "train":
        {
            var mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());
            int images = int.Parse(options.GetValueOrDefault("--images", "60000"), System.Globalization.CultureInfo.InvariantCulture);
            var train = mnist.Train.Slice(0, Math.Min(images, mnist.Train.Count));
            using var backend = BackendChoice.Create(options.GetValueOrDefault("--backend", "auto"), threads: 0, Console.WriteLine);
            using var model = Create(modelName, backend);
            model.Initialize(seed: 1);
            using var trainer = new Trainer(model, new Adam());
            int epochs = int.Parse(options.GetValueOrDefault("--epochs", "1"), System.Globalization.CultureInfo.InvariantCulture);
            var history = trainer.Fit(train, new FitOptions(epochs, Batch, ValidationSplit: 0.1, Seed: 1));
            var (loss, accuracy) = trainer.Evaluate(mnist.Test, Batch);
            Checkpoint.Save(checkpoint, model, trainer.Optimizer);
            Console.WriteLine($"{model.Name}: {model.ParameterCount:N0} parameters, {epochs} epoch(s) on {train.Count:N0} images, " +
                $"training loss {history.Epochs[^1].Loss:F4}; test loss {loss:F4}, test accuracy {accuracy:F4}; saved {checkpoint}");
            return 0;
        }
        case "predict":
        {
            using var backend = BackendChoice.Create(options.GetValueOrDefault("--backend", "auto"), threads: 0);
            using var model = Create(modelName, backend);
            Checkpoint.Load(checkpoint, model);
            var probabilities = new float[Batch * model.OutputLength];
            foreach (var (label, pixels) in files.SelectMany(SampleImages.Read))
            {
                var p = probabilities.AsSpan(0, model.OutputLength);
                model.Predict(pixels, p);
                int best = 0;
                for (int k = 1; k < p.Length; k++)
                    best = p[k] > p[best] ? k : best;
                Console.WriteLine($"{label}: {best} ({p[best]:F4})");
            }
            return 0;
        }
        case "evaluate":
        {
            var mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());
            int images = int.Parse(options.GetValueOrDefault("--images", "10000"), System.Globalization.CultureInfo.InvariantCulture);
            using var backend = BackendChoice.Create(options.GetValueOrDefault("--backend", "auto"), threads: 0);
            using var model = Create(modelName, backend);
            Checkpoint.Load(checkpoint, model);
            using var trainer = new Trainer(model, new Adam());
            var (loss, accuracy) = trainer.Evaluate(mnist.Test.Slice(0, Math.Min(images, mnist.Test.Count)), Batch);
            Console.WriteLine($"test loss {loss:F4}, test accuracy {accuracy:F4} on {Math.Min(images, mnist.Test.Count):N0} images");
            return 0;
        }
        case "to-onnx":
        {
            using var backend = BackendChoice.Create("managed", threads: 0);
            using var model = Create(modelName, backend);
            Checkpoint.Load(checkpoint, model);
            string onnx = options.GetValueOrDefault("--onnx") ?? throw new ArgumentException("to-onnx: --onnx FILE names the file to write");
            OnnxExport.Save(model, onnx);
            Console.WriteLine($"{model.Name}: written to {onnx}");
            return 0;
        }
        case "own-data":
            YourOwnData.Run(options.GetValueOrDefault("--backend", "auto"));
            return 0;
        default:
        {
            var mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());
            int count = int.Parse(options.GetValueOrDefault("--count", "10"), System.Globalization.CultureInfo.InvariantCulture);
            string folder = files.Count > 0 ? files[0] : "digits";
            Directory.CreateDirectory(folder);
            var raw = mnist.Test.RawPixels.Span;
            for (int i = 0; i < count; i++)
            {
                var path = Path.Combine(folder, $"test-{i:D5}-label-{mnist.Test.Labels.Span[i]}.png");
                using var file = File.Create(path);
                new ImageWriter().WritePng(raw.Slice(i * 784, 784).ToArray(), 28, 28, StbImageWriteSharp.ColorComponents.Grey, file);
                Console.WriteLine(path);
            }
            return 0;
        }
    }
}
catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or KeyNotFoundException)
{
    // Damaged or mismatched checkpoints, unreadable images, unknown options: the message says which and why.
    Console.Error.WriteLine(e.Message);
    return 2;
}

static CompiledModel Create(string name, Backend backend) => name switch
{
    "mlp" => new DigitMlp(backend, Batch),
    "cnn" => new DigitCnn(backend, Batch),
    _ => throw new ArgumentException($"--model: '{name}' is not a model of this sample; choose mlp or cnn"),
};

static Dictionary<string, string> Options(string[] args, out List<string> files)
{
    var options = new Dictionary<string, string>();
    files = [];
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            options[args[i]] = args[++i];
        else
            files.Add(args[i]);
    }
    return options;
}

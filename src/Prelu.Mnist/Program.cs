using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Prelu;
using Prelu.Mnist;
using Prelu.Mnist.Models;
using Prelu.Mnist.Reporting;
using Prelu.Native.Backends;
using Prelu.Native.Interop;

// The study app, the README's main command: PReLU against ReLU on MNIST with the study's ConvNet.

var runsOption = new Option<string[]>("--runs")
{
    Description = $"Configurations to train, in order: {string.Join(", ", StudyRuns.All.Select(r => r.Name))}",
    DefaultValueFactory = _ => [.. StudyRuns.Default],
    AllowMultipleArgumentsPerToken = true,
};
var taskOption = new Option<string>("--task")
{
    Description = $"What to study: mnist (the study's runs), or ReLU against PReLU on a real table: {string.Join(", ", TableStudy.Names)} " +
        "(each seed its own 80/20 split; --seeds, --epochs, --backend, --threads and --output apply)",
    DefaultValueFactory = _ => "mnist",
};
var epochsOption = new Option<int>("--epochs") { Description = "Epochs per run (mnist: 25; the tables: 100)", DefaultValueFactory = _ => 25 };
var batchOption = new Option<int>("--batch-size") { Description = "Images per batch", DefaultValueFactory = _ => 250 };
var validationOption = new Option<double>("--validation-split") { Description = "Last fraction of the training set held out for validation", DefaultValueFactory = _ => 0.2 };
var seedOption = new Option<ulong>("--seed") { Description = "Seed of the weights, dropout masks and shuffles", DefaultValueFactory = _ => 1 };
var seedsOption = new Option<string?>("--seeds")
{
    Description = "Run every configuration once per seed: a count N (seeds --seed to --seed + N - 1) or a list (1,2,3,4,5); " +
        "results.md then adds each configuration's spread and its paired differences from ReLU with 95% intervals",
};
var backendOption = new Option<string>("--backend") { Description = $"Kernels to run on: {string.Join(", ", BackendChoice.Names)}", DefaultValueFactory = _ => "auto" };
var threadsOption = new Option<int>("--threads") { Description = "Kernel threads (0: one per core)", DefaultValueFactory = _ => 0 };
var dataOption = new Option<DirectoryInfo?>("--data")
{
    Description = $"Folder with the four MNIST files (default: ${DataFolders.MnistEnvironmentVariable}, else {DataFolders.DefaultMnistFolder()})",
};
var outputOption = new Option<DirectoryInfo>("--output") { Description = "Where results, plots and checkpoints go", DefaultValueFactory = _ => new DirectoryInfo("results") };
var checkOption = new Option<string?>("--check-backend") { Description = "Only compare one training step on this backend with the managed reference, and exit" };
var timeStepsOption = new Option<bool>("--time-steps") { Description = "Only time training steps of the first run's model on the backend (random data), print images/s, and exit" };
var trainImagesOption = new Option<int>("--train-images") { Description = "Use only the first N training images (0: all 60,000); for quick looks", DefaultValueFactory = _ => 0 };
var resumeOption = new Option<bool>("--resume") { Description = "Continue an interrupted study from the checkpoints in the output folder (same arguments otherwise)" };
var checkNumericsOption = new Option<bool>("--check-numerics") { Description = "Check every parameter, layer output and gradient for NaN and Inf after every step (slow; the loss is always checked)" };

var root = new RootCommand("Prelu MNIST study: PReLU against ReLU with a small ConvNet, as the Keras study ran it")
{
    taskOption, runsOption, epochsOption, batchOption, validationOption, seedOption, seedsOption, backendOption, threadsOption, dataOption, outputOption, trainImagesOption, checkOption, timeStepsOption,
    resumeOption, checkNumericsOption,
};

// `predict`: classify images with a checkpoint the study wrote.
var checkpointOption = new Option<FileInfo>("--checkpoint") { Description = "A checkpoint the study wrote (results/<run>.safetensors)", Required = true };
var imagesArgument = new Argument<string[]>("images") { Description = "28x28 PNG files or IDX image files", Arity = ArgumentArity.OneOrMore };
var predictBackendOption = new Option<string>("--backend") { Description = $"Kernels to run on: {string.Join(", ", BackendChoice.Names)}", DefaultValueFactory = _ => "auto" };
var predict = new Command("predict", "Classify images with a trained checkpoint: one line per image, its class and probability")
{
    checkpointOption, imagesArgument, predictBackendOption,
};
predict.SetAction(parse =>
{
    try
    {
        return Predict.Run(parse.GetValue(checkpointOption)!.FullName, parse.GetValue(imagesArgument)!, parse.GetValue(predictBackendOption)!, Console.Out);
    }
    catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or InvalidOperationException)
    {
        Console.Error.WriteLine(e.Message); // the file, the tensor or field, and what was expected
        return 2;
    }
});
root.Subcommands.Add(predict);

// `export`: a checkpoint the study wrote, as an ONNX file.
var exportCheckpointOption = new Option<FileInfo>("--checkpoint") { Description = "A checkpoint the study wrote (results/<run>.safetensors)", Required = true };
var onnxOption = new Option<FileInfo>("--onnx") { Description = "The ONNX file to write", Required = true };
var export = new Command("export", "Write a trained checkpoint's model as an ONNX file (opset 17) for ONNX Runtime and other engines")
{
    exportCheckpointOption, onnxOption,
};
export.SetAction(parse =>
{
    try
    {
        return Predict.Export(parse.GetValue(exportCheckpointOption)!.FullName, parse.GetValue(onnxOption)!.FullName, Console.Out);
    }
    catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or InvalidOperationException)
    {
        Console.Error.WriteLine(e.Message); // the file, the tensor or field, and what was expected
        return 2;
    }
});
root.Subcommands.Add(export);

// Ctrl-C: the first stops the study after the batch in flight, with a checkpoint to resume from; a second
// ends the process at once (checkpoints are written to a temporary file and renamed, so the last one stays whole).
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (interrupt.IsCancellationRequested)
        return; // the default: the process ends now
    e.Cancel = true;
    interrupt.Cancel();
    Console.Error.WriteLine();
    Console.Error.WriteLine("Stopping after the batch in flight and saving a checkpoint (Ctrl-C again to quit at once)...");
};
root.SetAction(async (parse, _) =>
{
    var cancellationToken = interrupt.Token;
    var errors = new List<string>();
    if (parse.GetValue(epochsOption) < 1)
        errors.Add("--epochs must be at least 1");
    if (parse.GetValue(batchOption) < 1)
        errors.Add("--batch-size must be at least 1");
    var split = parse.GetValue(validationOption);
    if (!(split >= 0 && split < 1))
        errors.Add("--validation-split must be at least 0 and below 1");
    foreach (var run in parse.GetValue(runsOption) ?? [])
    {
        if (StudyRuns.All.All(r => r.Name != run))
            errors.Add($"--runs: unknown run '{run}'; choose from {string.Join(", ", StudyRuns.All.Select(r => r.Name))}");
    }
    if (!BackendChoice.Names.Contains(parse.GetValue(backendOption)))
        errors.Add($"--backend must be one of {string.Join(", ", BackendChoice.Names)}");
    if (parse.GetValue(threadsOption) < 0)
        errors.Add("--threads must be 0 (one per core) or more");
    var seeds = SeedList.Parse(parse.GetValue(seedsOption), parse.GetValue(seedOption), out var seedsError);
    if (seedsError is not null)
        errors.Add(seedsError);
    string task = parse.GetValue(taskOption)!;
    if (task != "mnist" && !TableStudy.Names.Contains(task))
        errors.Add($"--task must be mnist or one of {string.Join(", ", TableStudy.Names)}, not '{task}'");
    if (errors.Count > 0)
    {
        errors.ForEach(Console.Error.WriteLine);
        return 2;
    }
    if (task != "mnist")
    {
        try
        {
            using var tableBackend = BackendChoice.Create(parse.GetValue(backendOption)!, parse.GetValue(threadsOption), Console.WriteLine);
            int? epochs = parse.GetResult(epochsOption) is { Implicit: false } ? parse.GetValue(epochsOption) : null;
            var outputFolder = Path.Combine(parse.GetValue(outputOption)!.FullName, task);
            var markdown = await TableStudy.RunAsync(task, seeds, epochs, tableBackend, outputFolder,
                ("scripts/study " + string.Join(' ', args)).TrimEnd(), cancellationToken);
            Console.WriteLine();
            Console.WriteLine(markdown);
            Console.WriteLine($"Wrote results.md to {outputFolder}");
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("Stopped.");
            return 130;
        }
    }

    var folder = parse.GetValue(dataOption)?.FullName ?? DataFolders.DefaultMnistFolder();
    try
    {
        Console.WriteLine($"Prelu MNIST study, data folder {folder}");
        await new MnistFetcher { Log = Console.WriteLine, Progress = new FetchProgress() }.EnsureFilesAsync(folder, cancellationToken);
        var clock = Stopwatch.StartNew();
        var mnist = MnistDataset.Load(folder);
        Console.WriteLine($"Loaded {mnist.Train.Count:N0} training and {mnist.Test.Count:N0} test images in {clock.Elapsed.TotalMilliseconds:F0} ms");
        if (parse.GetValue(checkOption) is { } check)
        {
            using var checkedBackend = BackendChoice.Create(check, parse.GetValue(threadsOption), Console.WriteLine);
            return BackendCheck.Run(checkedBackend, mnist);
        }
        int trainImages = parse.GetValue(trainImagesOption);
        var train = trainImages > 0 ? mnist.Train.Slice(0, Math.Min(trainImages, mnist.Train.Count)) : mnist.Train;

        // auto times a step of the first run's model on each candidate backend.
        var firstRun = StudyRuns.Find(parse.GetValue(runsOption)![0]);
        int batch = parse.GetValue(batchOption);
        var measure = new StepMeasure($"{firstRun.ModelName} at batch {batch}",
            candidate => BackendChoice.TimeSteps(candidate, b => firstRun.Create(b, batch), batch, mnist.Train.PixelsPerImage, mnist.Train.ClassCount));
        using var backend = BackendChoice.Create(parse.GetValue(backendOption)!, parse.GetValue(threadsOption), Console.WriteLine, measure);
        if (parse.GetValue(timeStepsOption))
        {
            double seconds = measure.SecondsPerStep(backend);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{measure.ModelKey} on {backend.Name}: {seconds * 1000:F2} ms per training step (forward, loss, backward), {batch / seconds:N0} images/s"));
            return 0;
        }
        var options = new StudyOptions(parse.GetValue(runsOption)!, parse.GetValue(epochsOption), parse.GetValue(batchOption),
            parse.GetValue(validationOption), seeds, parse.GetValue(outputOption)!.FullName,
            ("scripts/study " + string.Join(' ', args.Where(a => a != "--resume"))).TrimEnd(), parse.GetValue(resumeOption), parse.GetValue(checkNumericsOption));
        var results = StudyRunner.Run(backend, train == mnist.Train ? mnist : MnistDataset.WithTraining(mnist, train), options, cancellationToken);
        Reports.WriteJson(Path.Combine(options.OutputFolder, "results.json"), results);
        Reports.WriteMarkdown(Path.Combine(options.OutputFolder, "results.md"), results);
        Console.WriteLine();
        Console.WriteLine(Reports.Markdown(results));
        Console.WriteLine($"Wrote results.json, results.md, the plots and the checkpoints to {options.OutputFolder}");
        return 0;
    }
    catch (TrainingInterruptedException e)
    {
        Console.Error.WriteLine($"Interrupted: {e.Message}.");
        Console.Error.WriteLine($"To go on where it stopped: scripts/study {string.Join(' ', args.Where(a => a != "--resume"))} --resume".Replace("  ", " ", StringComparison.Ordinal));
        return 130;
    }
    catch (NumericalFaultException e)
    {
        Console.Error.WriteLine(e.Message);
        return 3;
    }
    catch (Exception e) when (e is MnistUnavailableException or IdxFormatException or FileNotFoundException or NativeLibraryUnavailableException
        or Prelu.Native.OpenCL.ClException or InvalidOperationException
        or SafeTensorsFormatException or CheckpointMismatchException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
});
// The app handles Ctrl-C itself (above): System.CommandLine must not end the process while a checkpoint is written.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

using System.CommandLine;
using System.Diagnostics;
using Prelu.Data;
using Prelu.Native.Interop;
using Spectre.Console;

// The study app: the README's main command. Until training lands it loads MNIST (fetching it when
// missing) and reports what it loaded, so that a newcomer sees the data path work end to end.

var dataOption = new Option<DirectoryInfo?>("--data")
{
    Description = $"Folder with the four MNIST files (default: ${DataFolders.MnistEnvironmentVariable}, else {DataFolders.DefaultMnistFolder()})",
};
var root = new RootCommand("Prelu MNIST study: PReLU against ReLU with a small ConvNet") { dataOption };
root.SetAction(async (parse, cancellationToken) =>
{
    var folder = parse.GetValue(dataOption)?.FullName ?? DataFolders.DefaultMnistFolder();
    try
    {
        return await RunAsync(folder, cancellationToken);
    }
    catch (Exception e) when (e is MnistUnavailableException or IdxFormatException or FileNotFoundException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
});
return await root.Parse(args).InvokeAsync();

static async Task<int> RunAsync(string folder, CancellationToken cancellationToken)
{
    AnsiConsole.MarkupLineInterpolated($"[bold]Prelu[/] MNIST study, data folder [blue]{folder}[/]");
    ReportNativeLibrary();

    var fetcher = new MnistFetcher
    {
        Log = line => AnsiConsole.WriteLine(line),
        Progress = new ThrottledProgress(),
    };
    await fetcher.EnsureFilesAsync(folder, cancellationToken);

    var clock = Stopwatch.StartNew();
    var mnist = MnistDataset.Load(folder);
    clock.Stop();
    AnsiConsole.MarkupLineInterpolated($"Loaded {mnist.Train.Count + mnist.Test.Count:N0} images in {clock.Elapsed.TotalMilliseconds:F0} ms");

    var (train, validation) = mnist.Train.SplitValidation(0.2);
    var table = new Table().AddColumn("set").AddColumn("images (N, H, W, C)").AddColumn("labels one-hot");
    foreach (var (name, set) in new[] { ("train", train), ("validation (last 20%)", validation), ("test", mnist.Test) })
        table.AddRow(name, $"({string.Join(", ", set.Shape)})", $"({set.Count}, {set.ClassCount})");
    AnsiConsole.Write(table);

    var counts = new Table().AddColumn("class");
    var sets = new[] { ("train", train), ("validation", validation), ("test", mnist.Test) };
    foreach (var (name, _) in sets)
        counts.AddColumn(new TableColumn(name).RightAligned());
    var perClass = sets.Select(s => s.Item2.CountPerClass()).ToArray();
    for (int digit = 0; digit < MnistFiles.ClassCount; digit++)
        counts.AddRow([digit.ToString(), .. perClass.Select(c => c[digit].ToString("N0"))]);
    AnsiConsole.Write(counts);
    AnsiConsole.WriteLine("Training lands with the training runtime; this build loads and checks the data.");
    return 0;
}

static void ReportNativeLibrary()
{
    if (PreluNativeLibrary.TryEnsureLoaded(out var failure))
        AnsiConsole.WriteLine($"Native kernels: {PreluNativeLibrary.Describe()}");
    else
        AnsiConsole.WriteLine($"Native kernels unavailable, the managed backend will be used.{Environment.NewLine}{failure.Message}");
}

// Prints a download's progress every 10% instead of on every buffer.
sealed class ThrottledProgress : IProgress<MnistFetchProgress>
{
    private readonly Dictionary<string, int> _lastTenth = [];

    public void Report(MnistFetchProgress value)
    {
        if (value.TotalBytes is not > 0)
            return;
        int tenth = (int)(10 * value.Bytes / value.TotalBytes.Value);
        if (_lastTenth.TryGetValue(value.File, out var last) && last == tenth)
            return;
        _lastTenth[value.File] = tenth;
        Console.WriteLine($"  {value.File} from {value.Source}: {10 * tenth}% of {value.TotalBytes.Value:N0} bytes");
    }
}

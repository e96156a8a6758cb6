namespace Prelu;

/// <summary>One of MNIST's four files: its name, what it holds and its checksum.</summary>
/// <param name="Name">The file name as MNIST ships it, without ".gz".</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the uncompressed file.</param>
/// <param name="Count">Images or labels in the file.</param>
/// <param name="IsImages">Images (rank 3, 28x28) or labels (rank 1).</param>
public sealed record MnistFile(string Name, string Sha256, int Count, bool IsImages)
{
    /// <summary>Also accepted on disk: the same file gzip-compressed, as the public mirrors serve it.</summary>
    public string CompressedName => Name + ".gz";
}

/// <summary>The four MNIST files and the facts about them that loading and fetching check.</summary>
public static class MnistFiles
{
    /// <summary>MNIST's image height.</summary>
    public const int ImageHeight = 28;
    /// <summary>MNIST's image width.</summary>
    public const int ImageWidth = 28;
    /// <summary>MNIST's classes, the digits.</summary>
    public const int ClassCount = 10;

    /// <summary>The 60,000 training images.</summary>
    public static readonly MnistFile TrainImages = new("train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 60_000, IsImages: true);

    /// <summary>Their labels.</summary>
    public static readonly MnistFile TrainLabels = new("train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60_000, IsImages: false);

    /// <summary>The 10,000 test images.</summary>
    public static readonly MnistFile TestImages = new("t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 10_000, IsImages: true);

    /// <summary>Their labels.</summary>
    public static readonly MnistFile TestLabels = new("t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10_000, IsImages: false);

    /// <summary>The four files.</summary>
    public static IReadOnlyList<MnistFile> All { get; } = [TrainImages, TrainLabels, TestImages, TestLabels];

    /// <summary>The path of <paramref name="file"/> in <paramref name="folder"/>, raw or gzip; null when neither is there.</summary>
    public static string? Find(string folder, MnistFile file)
    {
        foreach (var name in new[] { file.Name, file.CompressedName })
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path))
                return path;
        }
        return null;
    }
}

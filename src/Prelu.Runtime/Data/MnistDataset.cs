namespace Prelu;

/// <summary>MNIST's training and test sets; <see cref="LabeledImages"/> hands them out prepared as Keras prepares them.</summary>
public sealed class MnistDataset
{
    private MnistDataset(string folder, LabeledImages train, LabeledImages test)
    {
        Folder = folder;
        Train = train;
        Test = test;
    }

    /// <summary>The folder the files were read from.</summary>
    public string Folder { get; }

    /// <summary>60,000 images, (60000, 28, 28, 1).</summary>
    public LabeledImages Train { get; }

    /// <summary>10,000 images, (10000, 28, 28, 1).</summary>
    public LabeledImages Test { get; }

    /// <summary>
    /// Fetches whatever files <paramref name="folder"/> lacks (see <see cref="MnistFetcher"/>) and loads
    /// the data set.
    /// </summary>
    public static async Task<MnistDataset> LoadOrFetchAsync(string folder, MnistFetcher? fetcher = null, CancellationToken cancellationToken = default)
    {
        await (fetcher ?? new MnistFetcher()).EnsureFilesAsync(folder, cancellationToken).ConfigureAwait(false);
        return Load(folder);
    }

    /// <summary>The same test set with another training set (a subset, for quick runs).</summary>
    public static MnistDataset WithTraining(MnistDataset dataset, LabeledImages train) => new(dataset.Folder, train, dataset.Test);

    /// <summary>Loads the four files from <paramref name="folder"/> (raw or gzip).</summary>
    /// <exception cref="FileNotFoundException">A file is in neither form.</exception>
    /// <exception cref="IdxFormatException">A file is damaged or does not hold what MNIST holds.</exception>
    public static MnistDataset Load(string folder)
    {
        var train = LoadPair(folder, MnistFiles.TrainImages, MnistFiles.TrainLabels);
        var test = LoadPair(folder, MnistFiles.TestImages, MnistFiles.TestLabels);
        return new MnistDataset(folder, train, test);
    }

    /// <summary>Loads one image file and its label file and checks that they belong together.</summary>
    public static LabeledImages LoadPair(string folder, MnistFile imagesFile, MnistFile labelsFile)
    {
        string imagesPath = Require(folder, imagesFile);
        string labelsPath = Require(folder, labelsFile);

        var images = IdxReader.Read(imagesPath);
        var dims = images.Dimensions;
        if (dims.Count != 3 || dims[1] != MnistFiles.ImageHeight || dims[2] != MnistFiles.ImageWidth)
        {
            throw new IdxFormatException(imagesPath, "dimensions",
                $"found [{string.Join(", ", dims)}]; expected [count, {MnistFiles.ImageHeight}, {MnistFiles.ImageWidth}] images");
        }

        var labels = IdxReader.Read(labelsPath);
        if (labels.Dimensions.Count != 1)
        {
            throw new IdxFormatException(labelsPath, "dimensions",
                $"found [{string.Join(", ", labels.Dimensions)}]; expected [count] labels");
        }
        if (labels.Dimensions[0] != dims[0])
        {
            throw new IdxFormatException(labelsPath, "dimension 0",
                $"{labels.Dimensions[0]:N0} labels, but {Path.GetFileName(imagesPath)} holds {dims[0]:N0} images; expected one label per image");
        }
        int outOfRange = Array.FindIndex(labels.Data, label => label >= MnistFiles.ClassCount);
        if (outOfRange >= 0)
        {
            throw new IdxFormatException(labelsPath, $"label {outOfRange}",
                $"value {labels.Data[outOfRange]}; expected a class from 0 to {MnistFiles.ClassCount - 1}");
        }

        return new LabeledImages(images.Data, labels.Data,
            MnistFiles.ImageHeight, MnistFiles.ImageWidth, channels: 1, MnistFiles.ClassCount, checkLabels: false);
    }

    private static string Require(string folder, MnistFile file) =>
        MnistFiles.Find(folder, file) ?? throw new FileNotFoundException(
            $"MNIST file {file.Name} (or {file.CompressedName}) is not in {folder}; " +
            "let the loader fetch it (LoadOrFetchAsync) or put it there by hand", Path.Combine(folder, file.Name));
}

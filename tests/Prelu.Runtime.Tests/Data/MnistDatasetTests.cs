
namespace Prelu.Runtime.Tests.Data;

/// <summary>Loading MNIST-shaped files: pairing, shape and label checks, raw and gzip.</summary>
public sealed class MnistDatasetTests : IDisposable
{
    private readonly IdxTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loads_the_four_files_raw_or_gzip(bool gzip)
    {
        string suffix = gzip ? ".gz" : "";
        _files.WriteMnistPair(MnistFiles.TrainImages.Name + suffix, MnistFiles.TrainLabels.Name + suffix, 30, gzip);
        _files.WriteMnistPair(MnistFiles.TestImages.Name + suffix, MnistFiles.TestLabels.Name + suffix, 7, gzip);

        var mnist = MnistDataset.Load(_files.Folder);

        Assert.Equal([30, 28, 28, 1], mnist.Train.Shape);
        Assert.Equal([7, 28, 28, 1], mnist.Test.Shape);
        Assert.Equal(IdxTestFiles.Pattern(30, modulus: 10), mnist.Train.Labels.ToArray());
        Assert.Equal(IdxTestFiles.Pattern(30 * 784), mnist.Train.RawPixels.ToArray());
    }

    [Fact]
    public void Image_and_label_counts_must_match()
    {
        var images = _files.Write("images", IdxTestFiles.Encode([5, 28, 28], new byte[5 * 784]));
        var labels = _files.Write("labels", IdxTestFiles.Encode([4], new byte[4]));

        var error = Assert.Throws<IdxFormatException>(() => MnistDataset.LoadPair(_files.Folder, File("images", true), File("labels", false)));

        Assert.Equal(labels, error.FilePath);
        Assert.Equal("dimension 0", error.Field);
        Assert.Contains("4 labels, but images holds 5 images", error.Message, StringComparison.Ordinal);
        Assert.True(System.IO.File.Exists(images));
    }

    [Fact]
    public void Labels_outside_0_to_9_are_refused_with_their_position()
    {
        _files.Write("images", IdxTestFiles.Encode([5, 28, 28], new byte[5 * 784]));
        var labels = _files.Write("labels", IdxTestFiles.Encode([5], [1, 2, 3, 12, 4]));

        var error = Assert.Throws<IdxFormatException>(() => MnistDataset.LoadPair(_files.Folder, File("images", true), File("labels", false)));

        Assert.Equal(labels, error.FilePath);
        Assert.Equal("label 3", error.Field);
        Assert.Contains("value 12; expected a class from 0 to 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Images_must_be_28_by_28()
    {
        var images = _files.Write("images", IdxTestFiles.Encode([2, 27, 28], new byte[2 * 27 * 28]));
        _files.Write("labels", IdxTestFiles.Encode([2], [0, 1]));

        var error = Assert.Throws<IdxFormatException>(() => MnistDataset.LoadPair(_files.Folder, File("images", true), File("labels", false)));

        Assert.Equal(images, error.FilePath);
        Assert.Contains("found [2, 27, 28]; expected [count, 28, 28]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_must_be_rank_one()
    {
        _files.Write("images", IdxTestFiles.Encode([2, 28, 28], new byte[2 * 784]));
        var labels = _files.Write("labels", IdxTestFiles.Encode([2, 1], [0, 1]));

        var error = Assert.Throws<IdxFormatException>(() => MnistDataset.LoadPair(_files.Folder, File("images", true), File("labels", false)));

        Assert.Equal(labels, error.FilePath);
        Assert.Equal("dimensions", error.Field);
    }

    [Fact]
    public void A_missing_file_names_the_file_and_the_folder()
    {
        var error = Assert.Throws<FileNotFoundException>(() => MnistDataset.Load(_files.Folder));

        Assert.Contains(MnistFiles.TrainImages.Name, error.Message, StringComparison.Ordinal);
        Assert.Contains(_files.Folder, error.Message, StringComparison.Ordinal);
    }

    private static MnistFile File(string name, bool images) => new(name, Sha256: "", Count: 0, images);
}


namespace Prelu.Runtime.Tests.Data;

/// <summary>Loads (and, on a new machine, fetches) the real MNIST once for the tests that need it.</summary>
public sealed class RealMnistFixture : IAsyncLifetime
{
    public MnistDataset Mnist { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());

    public Task DisposeAsync() => Task.CompletedTask;
}

[CollectionDefinition(Name)]
public sealed class RealMnistCollection : ICollectionFixture<RealMnistFixture>
{
    public const string Name = "real MNIST";
}

[Collection(RealMnistCollection.Name)]
public sealed class RealMnistTests(RealMnistFixture fixture)
{
    private readonly MnistDataset _mnist = fixture.Mnist;

    [Fact]
    public void Has_60000_training_and_10000_test_images_of_28_by_28()
    {
        Assert.Equal([60_000, 28, 28, 1], _mnist.Train.Shape);
        Assert.Equal([10_000, 28, 28, 1], _mnist.Test.Shape);
    }

    [Fact]
    public void The_first_ten_training_labels_are_the_canonical_ones()
    {
        Assert.Equal([5, 0, 4, 1, 9, 2, 1, 3, 1, 4], _mnist.Train.Labels[..10].ToArray());
    }

    [Fact]
    public void Class_counts_are_mnists()
    {
        Assert.Equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], _mnist.Train.CountPerClass());
        Assert.Equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], _mnist.Test.CountPerClass());
    }

    [Fact]
    public void The_study_split_holds_out_the_last_12000_training_images()
    {
        var (train, validation) = _mnist.Train.SplitValidation(0.2);

        Assert.Equal(48_000, train.Count);
        Assert.Equal(12_000, validation.Count);
        Assert.Equal(_mnist.Train.Labels[48_000..].ToArray(), validation.Labels.ToArray());
    }

    [Fact]
    public void Prepared_pixels_span_the_unit_interval()
    {
        var pixels = _mnist.Test.Slice(0, 100).PixelsAsFloat32();

        Assert.Equal(0f, pixels.Min());
        Assert.Equal(1f, pixels.Max());
    }

    [Fact]
    public void The_cached_files_match_their_checksums_raw_or_gzip()
    {
        var gzipped = Directory.CreateTempSubdirectory("prelu-mnist-gz-").FullName;
        try
        {
            foreach (var file in MnistFiles.All)
            {
                var path = MnistFiles.Find(_mnist.Folder, file);
                Assert.True(path is not null, $"{file.Name} is not in {_mnist.Folder}");
                Assert.Equal(file.Sha256, UncompressedSha256(path));

                // The other form too: the same file gzip-compressed, as a mirror serves it (or raw, if the cache holds gzip).
                var other = Path.Combine(gzipped, path.EndsWith(".gz", StringComparison.Ordinal) ? file.Name : file.CompressedName);
                using (var source = OpenUncompressed(path))
                using (var target = File.Create(other))
                using (Stream sink = other.EndsWith(".gz", StringComparison.Ordinal) ? new System.IO.Compression.GZipStream(target, System.IO.Compression.CompressionLevel.Fastest) : target)
                    source.CopyTo(sink);
                Assert.Equal(other, MnistFiles.Find(gzipped, file));
                Assert.Equal(file.Sha256, UncompressedSha256(other));
            }
        }
        finally
        {
            Directory.Delete(gzipped, recursive: true);
        }
    }

    // MnistFile.Sha256 is of the uncompressed bytes, whichever form is on disk.
    private static string UncompressedSha256(string path)
    {
        using var stream = OpenUncompressed(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    private static Stream OpenUncompressed(string path)
    {
        var file = File.OpenRead(path);
        return path.EndsWith(".gz", StringComparison.Ordinal) ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress) : file;
    }
}

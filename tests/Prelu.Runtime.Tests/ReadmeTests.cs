using Prelu.Data;
using Prelu.Runtime.Tests.Data;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests;

/// <summary>README examples about data: compiled and run here, and found in the README by <see cref="Readme"/>.</summary>
[Collection(RealMnistCollection.Name)]
public sealed class ReadmeTests
{
    [Fact]
    public async Task Loading_mnist()
    {
        #region readme: loading-mnist
        var mnist = await MnistDataset.LoadOrFetchAsync(DataFolders.DefaultMnistFolder());
        var (train, validation) = mnist.Train.SplitValidation(0.2); // Keras's validation_split: the last 20%
        var pixels = new float[250 * train.PixelsPerImage];        // (250, 28, 28, 1), float32 in [0, 1]
        var labels = new float[250 * train.ClassCount];            // (250, 10), one-hot
        train.GatherBatch(Enumerable.Range(0, 250).ToArray(), pixels, labels);
        #endregion

        Assert.Equal(48_000, train.Count);
        Assert.Equal(12_000, validation.Count);
        Assert.Equal(250f, labels.Sum());
        Assert.InRange(pixels.Max(), 0.99f, 1f);
    }

    [Fact]
    public void Every_readme_example_of_this_file_is_in_the_readme() =>
        Readme.AssertContainsRegions("tests/Prelu.Runtime.Tests/ReadmeTests.cs");
}

using BenchmarkDotNet.Attributes;

namespace Prelu.Benchmarks;

/// <summary>Loading the cached data set, and drawing one prepared training batch from it.</summary>
[MemoryDiagnoser]
public class Perf_MnistLoading
{
    private const int BatchSize = 250;

    private string _folder = "";
    private LabeledImages _train = null!;
    private int[] _batch = [];
    private float[] _pixels = [];
    private float[] _oneHot = [];

    [GlobalSetup]
    public void Setup()
    {
        _folder = DataFolders.DefaultMnistFolder();
        _train = MnistDataset.LoadOrFetchAsync(_folder).GetAwaiter().GetResult().Train;
        var random = new Random(1234);
        _batch = Enumerable.Range(0, BatchSize).Select(_ => random.Next(_train.Count)).ToArray();
        _pixels = new float[BatchSize * _train.PixelsPerImage];
        _oneHot = new float[BatchSize * _train.ClassCount];
    }

    /// <summary>All 70,000 images and labels from the cache folder, checked.</summary>
    [Benchmark]
    public MnistDataset LoadCachedMnist() => MnistDataset.Load(_folder);

    /// <summary>A shuffled batch of 250 gathered as float32 in [0, 1] with one-hot labels.</summary>
    [Benchmark]
    public float[] GatherTrainingBatch()
    {
        _train.GatherBatch(_batch, _pixels, _oneHot);
        return _pixels;
    }
}

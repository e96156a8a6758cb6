
namespace Prelu.Runtime.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    // A broken file may cost an exception and a few small buffers, never the size its header claims.
    private const long AllocationBudget = 1 << 20;

    private readonly IdxTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Reads_a_raw_file()
    {
        var data = IdxTestFiles.Pattern(3 * 5 * 7);
        var path = _files.Write("images", IdxTestFiles.Encode([3, 5, 7], data));

        var array = IdxReader.Read(path);

        Assert.Equal([3, 5, 7], array.Dimensions);
        Assert.Equal(data, array.Data);
        Assert.Equal(path, array.Path);
    }

    [Fact]
    public void Reads_a_gzip_file_whatever_its_name()
    {
        var data = IdxTestFiles.Pattern(11);
        var path = _files.Write("labels-without-gz-suffix", IdxTestFiles.Gzip(IdxTestFiles.Encode([11], data)));

        var array = IdxReader.Read(path);

        Assert.Equal([11], array.Dimensions);
        Assert.Equal(data, array.Data);
    }

    public static TheoryData<string, Func<byte[]>, string, string> BrokenFiles => new()
    {
        { "empty", () => [], "magic", "the file is empty" },
        { "wrong magic", () => [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0], "magic", "found 0x12345678" },
        { "float elements", () => IdxTestFiles.Encode([2], new byte[8], type: 0x0D), "magic", "element type 0x0D (float32) is not supported" },
        { "rank 0", () => [0, 0, 8, 0], "magic", "rank 0 is not supported" },
        { "rank 9", () => [0, 0, 8, 9, 0, 0, 0, 1], "magic", "rank 9 is not supported" },
        { "truncated magic", () => [0, 0, 8], "magic", "truncated header: the field needs 4 bytes, only 3 remain" },
        { "truncated header", () => IdxTestFiles.Encode([4, 28, 28], [])[..10], "dimension 1", "truncated header: the field needs 4 bytes, only 2 remain" },
        { "truncated data", () => IdxTestFiles.Encode([4, 28, 28], new byte[4 * 28 * 28 - 5]), "data", "need 3,136 bytes after the 16-byte header, the file holds 3,131" },
        { "extra data", () => IdxTestFiles.Encode([4], new byte[6]), "data", "2 bytes follow the 4 bytes" },
        { "zero dimension", () => IdxTestFiles.Encode([4, 0, 28], []), "dimension 1", "size 0; every dimension must be at least 1" },
        { "negative dimension", () => IdxTestFiles.Encode([-3], []), "dimension 0", "size -3" },
        { "header claiming gigabytes", () => IdxTestFiles.Encode([60_000, 100_000, 100_000], []), "header", "more than the limit of 1,073,741,824" },
        { "gzip too small for its header", () => IdxTestFiles.Gzip(IdxTestFiles.Encode([500_000, 1000], [])), "header", "gzip file cannot hold" },
        { "gzip truncated data", () => IdxTestFiles.Gzip(IdxTestFiles.Encode([100], new byte[60])), "data", "need 100 bytes of data, the decompressed stream holds 60" },
        { "gzip extra data", () => IdxTestFiles.Gzip(IdxTestFiles.Encode([10], new byte[12])), "data", "goes on after the 10 bytes" },
        { "corrupt gzip", CorruptGzip, "gzip", "the gzip stream is corrupt" },
        { "gzip cut short", () => IdxTestFiles.Gzip(IdxTestFiles.Encode([1000], IdxTestFiles.Pattern(1000)))[..40], "data", "truncated" },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void A_broken_file_is_a_clear_error_without_a_large_allocation(string kind, Func<byte[]> content, string field, string problem)
    {
        var path = _files.Write(kind.Replace(' ', '-'), content());

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(path, error.FilePath);
        Assert.Equal(field, error.Field);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"{path}: {field}: ", error.Message, StringComparison.Ordinal);
        Assert.True(allocated < AllocationBudget, $"{kind}: allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_caller_can_lower_the_size_limit()
    {
        var path = _files.Write("big", IdxTestFiles.Encode([100, 10], new byte[1000]));

        var error = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path, maxDataBytes: 999));

        Assert.Equal("header", error.Field);
    }

    private static byte[] CorruptGzip()
    {
        var gzip = IdxTestFiles.Gzip(IdxTestFiles.Encode([1000], IdxTestFiles.Pattern(1000)));
        // Keep the gzip signature and header; replace the deflate stream with bytes that are no deflate block.
        for (int i = 10; i < gzip.Length; i++)
            gzip[i] = 0xFF;
        return gzip;
    }
}

using System.IO.Compression;
using Prelu.Tests.Shared;
using Xunit.Abstractions;

namespace Prelu.Runtime.Tests.Fuzzing;

/// <summary>
/// Damaged files against the readers: thousands of seeded mutations of valid IDX files (raw and gzip) and
/// safetensors files. Each must load or be refused with the reader's exception naming the file, and cost
/// no more memory than its size warrants. The counts are printed with the test's output.
/// </summary>
public sealed class ReaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // 7 images of 5x4 pixels: magic 00 00 08 03, three dimensions, 140 bytes of data.
    private static byte[] ValidIdx()
    {
        var bytes = new List<byte> { 0, 0, 0x08, 3, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 4 };
        bytes.AddRange(Enumerable.Range(0, 7 * 5 * 4).Select(i => (byte)(i * 37)));
        return [.. bytes];
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Optimal))
            gzip.Write(raw);
        return memory.ToArray();
    }

    [Theory]
    [InlineData(false, 3000)]
    [InlineData(true, 2000)]
    public void Idx_reader_loads_or_refuses_every_damaged_file(bool gzip, int cases)
    {
        var valid = gzip ? Gzip(ValidIdx()) : ValidIdx();
        var path = Path.Combine(_folder, gzip ? "images.idx.gz" : "images.idx");
        var fuzz = new Fuzz(gzip ? 2 : 1) { FieldOffsets = gzip ? [] : [0, 4, 8, 12] };
        var tally = new FuzzTally();
        for (int i = 0; i < cases; i++)
        {
            var (bytes, mutation) = fuzz.Mutate(valid);
            File.WriteAllBytes(path, bytes);
            // Raw: the data and a buffer. Gzip: what the deflate ratio lets the file claim, and the inflater's window.
            long bound = gzip ? bytes.Length * 1032L + (1 << 20) : 4L * bytes.Length + (256 << 10);
            tally.Run<IdxFormatException>(path, mutation, () => IdxReader.Read(path), bound);
        }
        output.WriteLine($"IDX {(gzip ? "gzip" : "raw")} fuzzing: {tally}");
        Assert.Equal(cases, tally.Cases);
        Assert.True(tally.Refused > cases / 2, tally.ToString()); // most damage is caught, not read as data
    }

    [Fact]
    public void Safetensors_reader_loads_or_refuses_every_damaged_file()
    {
        var path = Path.Combine(_folder, "valid.safetensors");
        SafeTensors.Write(path,
            [new NamedTensor("conv.kernel", [3, 3, 1, 2], Det.Floats(18, 1)), new NamedTensor("conv.bias", [2], [0.5f, -0.5f]),
             new NamedTensor("empty", [0], [])],
            new Dictionary<string, string> { ["format"] = "test", ["note"] = "é ü" });
        var valid = File.ReadAllBytes(path);
        int headerLength = (int)BitConverter.ToUInt64(valid, 0);
        var fuzz = new Fuzz(3) { TextRegion = (8, headerLength), FieldOffsets = [0] };
        var tally = new FuzzTally();
        const int cases = 4000;
        for (int i = 0; i < cases; i++)
        {
            var (bytes, mutation) = fuzz.Mutate(valid);
            File.WriteAllBytes(path, bytes);
            tally.Run<SafeTensorsFormatException>(path, mutation, () => SafeTensors.ReadWithMetadata(path), 16L * bytes.Length + (256 << 10));
        }
        output.WriteLine($"safetensors fuzzing: {tally}");
        Assert.True(tally.Refused > cases / 2, tally.ToString());
    }
}

using System.Buffers.Binary;
using System.Text;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Checkpoints;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prelu-st-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public void Round_trips_tensors_and_metadata_exactly()
    {
        var a = new NamedTensor("conv1.kernel", [3, 3, 1, 2], Enumerable.Range(0, 18).Select(i => i * 0.1f - 0.7f).ToArray());
        var b = new NamedTensor("scalar", [], [float.Epsilon]);
        var path = PathOf("x.safetensors");

        SafeTensors.Write(path, [a, b], new Dictionary<string, string> { ["step"] = "42" });
        var (tensors, metadata) = SafeTensors.ReadWithMetadata(path);

        Assert.Equal(a.Values, tensors["conv1.kernel"].Values);
        Assert.Equal([3, 3, 1, 2], tensors["conv1.kernel"].Shape);
        Assert.Equal(b.Values, tensors["scalar"].Values);
        Assert.Equal("42", metadata["step"]);
        Assert.Equal(0, (BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(path)) % 8));
    }

    public static TheoryData<string, Func<byte[], byte[]>, string, string> Damages => new()
    {
        { "truncated", bytes => bytes[..^10], "a.data_offsets", "truncated" },
        { "shorter than a length", bytes => bytes[..5], "header length", "8-byte header length" },
        { "header length beyond the file", bytes => WithLength(bytes, 1_000_000), "header length", "claims 1,000,000 bytes" },
        { "header not JSON", bytes => Replace(bytes, "{", "["), "header", "not" },
        { "wrong dtype", bytes => Replace(bytes, "\"F32\"", "\"F16\""), "a.dtype", "is F16; expected F32" },
        { "shape that disagrees with the bytes", bytes => Replace(bytes, "[2,3]", "[3,3]"), "a.data_offsets", "needs 36" },
        { "bytes after the last tensor", bytes => [.. bytes, 0, 0, 0, 0], "data", "holds 28 bytes, the tensors index 24" },
        { "header not UTF-8", bytes => NotUtf8(bytes), "header", "is not valid UTF-8" },
    };

    // The tensor's name "a" becomes the byte 0xFF, which no UTF-8 text holds.
    private static byte[] NotUtf8(byte[] bytes)
    {
        var copy = bytes.ToArray();
        int at = copy.AsSpan(8).IndexOf("\"a\""u8);
        copy[8 + at + 1] = 0xFF;
        return copy;
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void A_damaged_file_is_a_clear_error(string kind, Func<byte[], byte[]> damage, string field, string problem)
    {
        var path = PathOf("good.safetensors");
        SafeTensors.Write(path, [new NamedTensor("a", [2, 3], new float[6])]);
        File.WriteAllBytes(path, damage(File.ReadAllBytes(path)));

        var error = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));

        Assert.Equal(path, error.FilePath);
        Assert.Equal(field, error.Field);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        _ = kind;
    }

    [Fact]
    public void A_failure_before_the_rename_leaves_the_previous_file_intact()
    {
        var path = PathOf("checkpoint.safetensors");
        SafeTensors.Write(path, [new NamedTensor("w", [2], [1f, 2f])]);

        Assert.Throws<IOException>(() => SafeTensors.Write(path, [new NamedTensor("w", [2], [3f, 4f])],
            beforeRename: () => throw new IOException("simulated crash between write and rename")));

        Assert.Equal([1f, 2f], SafeTensors.Read(path)["w"].Values);
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Values_that_do_not_fit_their_shape_are_refused_before_writing()
    {
        Refused.Assert<ArgumentException>(() => SafeTensors.Write(PathOf("x"), [new NamedTensor("w", [2, 2], [1f])]), "tensors",
            "tensor 'w' holds 1 values, shape [2, 2] needs 4");
        Refused.Assert<ArgumentException>(() => SafeTensors.Write(PathOf("x"), [new NamedTensor("w", [1], [1f]), new NamedTensor("w", [1], [1f])]), "tensors",
            "tensor 'w' is given twice");
        Assert.False(File.Exists(PathOf("x")));
    }

    private static byte[] WithLength(byte[] bytes, ulong length)
    {
        var copy = bytes.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
        return copy;
    }

    private static byte[] Replace(byte[] bytes, string from, string to)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Contains(from, header, StringComparison.Ordinal);
        var replaced = Encoding.UTF8.GetBytes(header.Replace(from, to, StringComparison.Ordinal).PadRight(headerLength));
        var copy = bytes.ToArray();
        replaced.CopyTo(copy, 8);
        return copy;
    }
}

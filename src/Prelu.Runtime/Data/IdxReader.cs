using System.Buffers.Binary;
using System.IO.Compression;

namespace Prelu;

/// <summary>An IDX array: its dimensions (outermost first) and its unsigned-byte elements.</summary>
public sealed class IdxArray(string path, int[] dimensions, byte[] data)
{
    /// <summary>The file read.</summary>
    public string Path { get; } = path;
    /// <summary>The array's dimensions, as the header gives them.</summary>
    public IReadOnlyList<int> Dimensions { get; } = dimensions;
    /// <summary>The elements, row-major.</summary>
    public byte[] Data { get; } = data;
}

/// <summary>
/// Reads IDX files (the format MNIST ships in), raw or gzip-compressed.
/// </summary>
/// <remarks>
/// Layout: a big-endian magic <c>00 00 TT RR</c> (TT the element type, RR the rank), RR big-endian
/// int32 dimensions, then the elements. Only unsigned bytes (TT = 0x08) are read: that is all MNIST
/// uses. Everything the header claims is checked against the file before anything is allocated, so
/// a damaged or hostile header costs an exception, never gigabytes of memory.
/// </remarks>
public static class IdxReader
{
    /// <summary>The element type code of unsigned bytes.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>Ranks above this are not IDX files anyone writes; a larger value means a wrong file.</summary>
    public const int MaxRank = 4;

    /// <summary>The most data one file may hold unless the caller says otherwise: 1 GiB.</summary>
    public const long DefaultMaxDataBytes = 1L << 30;

    // Deflate cannot compress better than about 1032:1, so a gzip file that claims more than this many
    // bytes per compressed byte is lying about its size.
    private const long MaxDeflateRatio = 1032;

    /// <summary>Reads a whole IDX file. Gzip is recognised by its signature, not by the file name.</summary>
    /// <exception cref="IdxFormatException">The file is empty, truncated, corrupt, or not unsigned-byte IDX.</exception>
    public static IdxArray Read(string path, long maxDataBytes = DefaultMaxDataBytes)
    {
        maxDataBytes = Math.Min(maxDataBytes, Array.MaxLength);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        long fileLength = file.Length;
        if (fileLength == 0)
            throw new IdxFormatException(path, "magic", "the file is empty; expected an IDX header starting with a 4-byte magic number");

        bool compressed = StartsWithGzipSignature(file);
        Stream content = compressed ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
        try
        {
            return ReadContent(path, content, fileLength, compressed, maxDataBytes);
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException(path, "gzip", $"the gzip stream is corrupt ({e.Message})", e);
        }
        finally
        {
            if (compressed)
                content.Dispose();
        }
    }

    private static bool StartsWithGzipSignature(FileStream file)
    {
        Span<byte> signature = stackalloc byte[2];
        int read = file.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        file.Position = 0;
        return read == 2 && signature[0] == 0x1f && signature[1] == 0x8b;
    }

    private static IdxArray ReadContent(string path, Stream content, long fileLength, bool compressed, long maxDataBytes)
    {
        Span<byte> magic = stackalloc byte[4];
        ReadHeaderField(path, content, magic, "magic");
        if (magic[0] != 0 || magic[1] != 0)
        {
            throw new IdxFormatException(path, "magic",
                $"found 0x{BinaryPrimitives.ReadUInt32BigEndian(magic):X8}; an IDX file starts with 0x0000TTRR " +
                "(TT the element type, RR the rank), e.g. 0x00000803 for images and 0x00000801 for labels");
        }
        if (magic[2] != UnsignedByteType)
        {
            throw new IdxFormatException(path, "magic",
                $"element type 0x{magic[2]:X2} ({DescribeType(magic[2])}) is not supported; expected 0x08 (unsigned byte)");
        }
        int rank = magic[3];
        if (rank < 1 || rank > MaxRank)
            throw new IdxFormatException(path, "magic", $"rank {rank} is not supported; expected 1 to {MaxRank}");

        Span<byte> dimensionBytes = stackalloc byte[4 * MaxRank];
        var dimensions = new int[rank];
        long dataBytes = 1;
        for (int axis = 0; axis < rank; axis++)
        {
            var field = $"dimension {axis}";
            var bytes = dimensionBytes.Slice(4 * axis, 4);
            ReadHeaderField(path, content, bytes, field);
            int size = BinaryPrimitives.ReadInt32BigEndian(bytes);
            if (size <= 0)
                throw new IdxFormatException(path, field, $"size {size}; every dimension must be at least 1");
            dimensions[axis] = size;
            dataBytes *= size; // at most 4 factors below 2^31: fits in a long until checked below
            if (dataBytes > maxDataBytes)
            {
                throw new IdxFormatException(path, "header",
                    $"dimensions [{string.Join(", ", dimensions[..(axis + 1)])}] claim {dataBytes:N0} bytes of data, " +
                    $"more than the limit of {maxDataBytes:N0}");
            }
        }

        long headerBytes = 4 + 4L * rank;
        if (!compressed)
        {
            long actual = fileLength - headerBytes;
            if (actual < dataBytes)
            {
                throw new IdxFormatException(path, "data",
                    $"truncated: dimensions [{string.Join(", ", dimensions)}] need {dataBytes:N0} bytes after the " +
                    $"{headerBytes}-byte header, the file holds {actual:N0}");
            }
            if (actual > dataBytes)
            {
                throw new IdxFormatException(path, "data",
                    $"{actual - dataBytes:N0} bytes follow the {dataBytes:N0} bytes that dimensions " +
                    $"[{string.Join(", ", dimensions)}] describe; expected the file to end there");
            }
        }
        else if (dataBytes > fileLength * MaxDeflateRatio)
        {
            throw new IdxFormatException(path, "header",
                $"dimensions [{string.Join(", ", dimensions)}] claim {dataBytes:N0} bytes, which a {fileLength:N0}-byte " +
                "gzip file cannot hold: the header is wrong or the file is truncated");
        }

        var data = GC.AllocateUninitializedArray<byte>((int)dataBytes);
        int read = content.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
        {
            throw new IdxFormatException(path, "data",
                $"truncated: dimensions [{string.Join(", ", dimensions)}] need {dataBytes:N0} bytes of data, " +
                $"the decompressed stream holds {read:N0}");
        }
        if (compressed && content.ReadByte() >= 0)
        {
            throw new IdxFormatException(path, "data",
                $"the decompressed stream goes on after the {dataBytes:N0} bytes that dimensions " +
                $"[{string.Join(", ", dimensions)}] describe; expected it to end there");
        }
        return new IdxArray(path, dimensions, data);
    }

    private static void ReadHeaderField(string path, Stream content, Span<byte> field, string name)
    {
        int read = content.ReadAtLeast(field, field.Length, throwOnEndOfStream: false);
        if (read < field.Length)
        {
            throw new IdxFormatException(path, name,
                $"truncated header: the field needs {field.Length} bytes, only {read} remain");
        }
    }

    private static string DescribeType(byte type) => type switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "not an IDX type",
    };
}

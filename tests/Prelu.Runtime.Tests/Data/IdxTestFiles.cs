using System.Buffers.Binary;
using System.IO.Compression;

namespace Prelu.Runtime.Tests.Data;

/// <summary>Writes small IDX files, good and broken, into a temporary folder that is deleted afterwards.</summary>
public sealed class IdxTestFiles : IDisposable
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("prelu-idx-").FullName;

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    public string Path(string name) => System.IO.Path.Combine(Folder, name);

    /// <summary>The bytes of an unsigned-byte IDX file with these dimensions and data.</summary>
    public static byte[] Encode(int[] dimensions, byte[] data, byte type = 0x08)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        data.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(content);
        return output.ToArray();
    }

    public string Write(string name, byte[] bytes)
    {
        var path = Path(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A deterministic pattern of <paramref name="count"/> bytes.</summary>
    public static byte[] Pattern(int count, int modulus = 256)
    {
        var data = new byte[count];
        for (int i = 0; i < count; i++)
            data[i] = (byte)(i * 37 % modulus);
        return data;
    }

    /// <summary>MNIST-shaped image and label files for <paramref name="count"/> images.</summary>
    public (string Images, string Labels) WriteMnistPair(string imagesName, string labelsName, int count, bool gzip = false)
    {
        var images = Encode([count, 28, 28], Pattern(count * 28 * 28));
        var labels = Encode([count], Pattern(count, modulus: 10));
        return (Write(imagesName, gzip ? Gzip(images) : images), Write(labelsName, gzip ? Gzip(labels) : labels));
    }
}

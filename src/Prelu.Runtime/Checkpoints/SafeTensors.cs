using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Prelu;

/// <summary>A named float32 tensor read from or written to a safetensors file.</summary>
public sealed record NamedTensor(string Name, IReadOnlyList<int> Shape, float[] Values)
{
    /// <summary>Elements in the tensor.</summary>
    public int Length => Values.Length;
}

/// <summary>A safetensors file that is not what it claims; the message names the file, the tensor or field, and what was expected.</summary>
public sealed class SafeTensorsFormatException(string path, string field, string problem, Exception? inner = null)
    : IOException($"{path}: {field}: {problem}", inner)
{
    /// <summary>The file.</summary>
    public string FilePath { get; } = path;
    /// <summary>What in it is damaged (the header, a tensor's name, its offsets, ...).</summary>
    public string Field { get; } = field;
}

/// <summary>
/// The safetensors format (readable by PyTorch, numpy and Hugging Face tools): an 8-byte little-endian
/// header length, a JSON header mapping each tensor name to its dtype, shape and byte range, then the raw
/// little-endian data. Only float32 ("F32") tensors are read and written. Writes go to a temporary file
/// that is renamed over the target, so a crash mid-write never leaves a half-written file under the name.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers above this are refused before they are read: no real header is near it.</summary>
    public const long MaxHeaderBytes = 100L << 20;

    /// <summary>Every float32 tensor of a safetensors file, by name.</summary>
    public static IReadOnlyDictionary<string, NamedTensor> Read(string path) => ReadWithMetadata(path).Tensors;

    /// <summary>Every float32 tensor of a safetensors file, by name, and its metadata.</summary>
    public static (IReadOnlyDictionary<string, NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadWithMetadata(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = file.Length;
        Span<byte> prefix = stackalloc byte[8];
        if (file.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
            throw new SafeTensorsFormatException(path, "header length", $"the file holds {fileLength} bytes; a safetensors file starts with an 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength == 0 || headerLength > (ulong)Math.Min(MaxHeaderBytes, fileLength - 8))
        {
            throw new SafeTensorsFormatException(path, "header length",
                $"claims {headerLength:N0} bytes of header, the file holds {fileLength - 8:N0} after the length (and headers are at most {MaxHeaderBytes:N0})");
        }
        var header = new byte[headerLength];
        file.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        // The format's header is UTF-8 JSON; checked first, so that the JSON reader never meets bad bytes.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new SafeTensorsFormatException(path, "header", "is not valid UTF-8; a safetensors header is UTF-8 JSON");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(path, "header", $"is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsFormatException(path, "header", "is not a JSON object");
            var metadata = new Dictionary<string, string>();
            var entries = new List<(string Name, int[] Shape, long Begin, long End)>();
            var seen = new HashSet<string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new SafeTensorsFormatException(path, property.Name, "appears twice in the header");
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new SafeTensorsFormatException(path, "__metadata__", $"is a JSON {property.Value.ValueKind}; expected an object of strings");
                    foreach (var item in property.Value.EnumerateObject())
                        metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : item.Value.GetRawText();
                    continue;
                }
                entries.Add(ParseEntry(path, property, dataLength));
            }

            // The data buffer is indexed entirely, without holes or shared bytes (the format's rule): tensors,
            // in offset order, start where the previous one ended, the first at 0, the last at the file's end.
            var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
            long expectedBegin = 0;
            for (int i = 0; i < ordered.Count; i++)
            {
                if (ordered[i].Begin < expectedBegin)
                    throw new SafeTensorsFormatException(path, ordered[i].Name, $"its bytes overlap those of '{ordered[i - 1].Name}'");
                if (ordered[i].Begin > expectedBegin)
                    throw new SafeTensorsFormatException(path, ordered[i].Name, $"starts at byte {ordered[i].Begin:N0} of the data, leaving bytes {expectedBegin:N0} to {ordered[i].Begin:N0} unindexed");
                expectedBegin = ordered[i].End;
            }
            if (expectedBegin != dataLength)
            {
                throw new SafeTensorsFormatException(path, "data", $"holds {dataLength:N0} bytes, the tensors index {expectedBegin:N0}: " +
                    "bytes after the last tensor (the file is damaged or was appended to)");
            }

            var tensors = new Dictionary<string, NamedTensor>();
            foreach (var (name, shape, begin, end) in entries)
            {
                var values = new float[(end - begin) / 4];
                file.Position = dataStart + begin;
                file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                {
                    var ints = MemoryMarshal.Cast<float, int>(values.AsSpan());
                    BinaryPrimitives.ReverseEndianness(ints, ints);
                }
                tensors[name] = new NamedTensor(name, shape, values);
            }
            return (tensors, metadata);
        }
    }

    private static (string Name, int[] Shape, long Begin, long End) ParseEntry(string path, JsonProperty property, long dataLength)
    {
        string name = property.Name;
        var entry = property.Value;
        if (entry.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsFormatException(path, name, "its header entry is not an object with dtype, shape and data_offsets");
        if (!entry.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw new SafeTensorsFormatException(path, $"{name}.dtype", "is missing");
        if (dtype.GetString() != "F32")
            throw new SafeTensorsFormatException(path, $"{name}.dtype", $"is {dtype.GetString()}; expected F32 (float32)");
        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new SafeTensorsFormatException(path, $"{name}.shape", "is missing");
        var shape = new List<int>();
        long elements = 1;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int size) || size < 0)
                throw new SafeTensorsFormatException(path, $"{name}.shape", $"holds {dim.GetRawText()}; expected sizes from 0 to {int.MaxValue}");
            shape.Add(size);
            elements *= size;
            if (elements > Array.MaxLength)
                throw new SafeTensorsFormatException(path, $"{name}.shape", $"[{string.Join(", ", shape)}...] is larger than one array can hold");
        }
        if (!entry.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
        {
            throw new SafeTensorsFormatException(path, $"{name}.data_offsets", "is missing or not two integers");
        }
        if (begin < 0 || end < begin || end > dataLength)
            throw new SafeTensorsFormatException(path, $"{name}.data_offsets", $"[{begin}, {end}] is outside the {dataLength:N0} bytes of data: the file is truncated or the header is wrong");
        if (end - begin != elements * 4)
            throw new SafeTensorsFormatException(path, $"{name}.data_offsets", $"span {end - begin:N0} bytes; shape [{string.Join(", ", shape)}] of F32 needs {elements * 4:N0}");
        return (name, shape.ToArray(), begin, end);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (in the order given) to <paramref name="path"/> through a
    /// temporary file and a rename. <paramref name="beforeRename"/> is a seam for tests that simulate a crash.
    /// </summary>
    public static void Write(string path, IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null, Action? beforeRename = null)
    {
        var list = tensors.ToList();
        var names = new HashSet<string>();
        foreach (var tensor in list)
        {
            if (!names.Add(tensor.Name))
                throw new ArgumentException($"tensor '{tensor.Name}' is given twice", nameof(tensors));
            long expected = tensor.Shape.Aggregate(1L, (a, b) => a * b);
            if (expected != tensor.Values.Length)
                throw new ArgumentException($"tensor '{tensor.Name}' holds {tensor.Values.Length} values, shape [{string.Join(", ", tensor.Shape)}] needs {expected}", nameof(tensors));
        }

        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in list)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var size in tensor.Shape)
                    json.WriteNumberValue(size);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.Values.Length * 4L;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 bytes, so that the data is aligned (as the format recommends).
        while (header.Length % 8 != 0)
            header.WriteByte((byte)' ');

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                file.Write(prefix);
                file.Write(header.GetBuffer().AsSpan(0, (int)header.Length));
                foreach (var tensor in list)
                {
                    if (BitConverter.IsLittleEndian)
                    {
                        file.Write(MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
                    }
                    else
                    {
                        var swapped = MemoryMarshal.Cast<float, int>(tensor.Values.AsSpan()).ToArray();
                        BinaryPrimitives.ReverseEndianness(swapped, swapped);
                        file.Write(MemoryMarshal.AsBytes(swapped.AsSpan()));
                    }
                }
                file.Flush(flushToDisk: true);
            }
            beforeRename?.Invoke();
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }

}

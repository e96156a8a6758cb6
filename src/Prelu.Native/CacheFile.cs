namespace Prelu.Native;

/// <summary>
/// The files of the per-user caches (OpenCL program binaries and tile choices, auto's backend decisions):
/// written to a temporary file and renamed, so that a reader never sees half a file, and never an error. A
/// cache only saves time: a folder that cannot be written or a file that cannot be read costs the work again.
/// </summary>
internal static class CacheFile
{
    public static byte[]? TryReadBytes(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string? TryReadText(string path) => TryReadBytes(path) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes) : null;

    public static void TryWrite(string path, ReadOnlySpan<byte> contents)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, contents);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public static void TryWrite(string path, string text) => TryWrite(path, System.Text.Encoding.UTF8.GetBytes(text));
}

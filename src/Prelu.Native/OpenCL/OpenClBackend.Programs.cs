using System.Globalization;
using System.Text;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>A program: an embedded .cl file built with a set of -D defines (empty: any shape).</summary>
internal readonly record struct ProgramKey(string File, string Defines);

// Building programs and keeping their binaries on disk.
public sealed unsafe partial class OpenClBackend
{
    /// <summary>Where built programs are kept: $PRELU_OPENCL_CACHE, else ~/.cache/prelu/opencl.</summary>
    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("PRELU_OPENCL_CACHE") is { Length: > 0 } folder ? folder
        : Path.Combine(Prelu.DataFolders.UserCacheFolder(), "prelu", "opencl");

    /// <summary>Whether the shape-generic program came from the on-disk cache (for tests and logs).</summary>
    public bool ProgramFromCache { get; private set; }

    private static readonly Dictionary<string, string> Sources = [];

    // An embedded .cl file's text after common.cl's (and vector.cl's, for the files whose kernels hold outputs in
    // vectors), read once per process.
    private static string Source(string file)
    {
        lock (Sources)
        {
            if (Sources.TryGetValue(file, out var text))
                return text;
            var prelude = file is "gemm.cl" or "conv_pool.cl" ? Embedded("common.cl") + "\n" + Embedded("vector.cl") : Embedded("common.cl");
            return Sources[file] = prelude + "\n" + RepeatVariants(Embedded(file));
        }
    }

    /// <summary>How many tile variants one gemm.cl program can hold (the tuner's candidates).</summary>
    internal const int MaxVariants = 5;

    // gemm.cl's section between "// VARIANT BEGIN" and "// VARIANT END", once per variant i: inside
    // #if VARIANTS > i, with MR, NV and GEMM_NAME standing for MR_i, NV_i and gemm_i.
    private static string RepeatVariants(string text)
    {
        const string Begin = "// VARIANT BEGIN\n", End = "// VARIANT END\n";
        int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
            return text;
        var section = text[(begin + Begin.Length)..end];
        var repeated = new StringBuilder();
        for (int i = 0; i < MaxVariants; i++)
        {
            repeated.Append(CultureInfo.InvariantCulture, $"#if VARIANTS > {i}\n#define MR MR_{i}\n#define NV NV_{i}\n#define GEMM_NAME gemm_{i}\n")
                .Append(section).Append("#undef MR\n#undef NV\n#undef GEMM_NAME\n#endif\n");
        }
        return text[..begin] + repeated + text[(end + End.Length)..];
    }

    private static string Embedded(string file)
    {
        using var stream = typeof(OpenClBackend).Assembly.GetManifestResourceStream("Prelu.Native.OpenCL." + file)
            ?? throw new InvalidOperationException($"the OpenCL kernels ({file}) are not embedded in Prelu.Native");
        return new StreamReader(stream).ReadToEnd();
    }

    private static string Options(ProgramKey key) => ("-cl-std=CL1.2 " + key.Defines).Trim();

    // What a program's cached files are named by: the device, its driver, the options and the source.
    private string ProgramHash(ProgramKey key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n",
            Device.PlatformName, Device.Name, _driverVersion, Options(key), Source(key.File)))));

    // One lock per cached program file: while one backend of this process builds a program, another that needs the same
    // one (backends made side by side, each with its own context: the test classes) waits, then loads the binary the first
    // left in the cache, instead of building it again from source.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, object> Building = new(StringComparer.Ordinal);

    // A program of one .cl file with one set of -D defines (a layer or product shape), built for this
    // device: from the cache when a binary for this device, driver, source and defines is there, else from
    // source (and the binary is then cached, written to a temporary file and renamed).
    private nint BuildProgram(nint device, ProgramKey key)
    {
        var (file, defines) = key;
        var source = Source(file);
        string options = Options(key);
        var cached = Path.Combine(CacheFolder, ProgramHash(key) + ".bin");
        lock (Building.GetOrAdd(cached, _ => new object()))
        {
            if (CacheFile.TryReadBytes(cached) is { } binary && TryBuildFromBinary(device, binary, options) is { } fromCache)
            {
                ProgramFromCache |= defines.Length == 0;
                return fromCache;
            }
            var program = BuildFromSource(device, source, options, file);
            TryCache(program, cached);
            return program;
        }
    }

    private nint BuildFromSource(nint device, string source, string options, string file)
    {
        var bytes = Encoding.UTF8.GetBytes(source);
        int error;
        nint program;
        fixed (byte* text = bytes)
        {
            byte* texts = text;
            nuint length = (nuint)bytes.Length;
            program = _cl.CreateProgramWithSource(_context, 1, &texts, &length, &error);
        }
        ClException.Check(error, "clCreateProgramWithSource");
        error = Build(program, device, options);
        if (error != 0)
        {
            nuint size = 0;
            _cl.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, 0, null, &size);
            var log = new byte[size];
            fixed (byte* l = log)
                _cl.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, size, l, null);
            _cl.ReleaseProgram(program);
            throw new ClException($"clBuildProgram({file} {options})", error, Encoding.UTF8.GetString(log).TrimEnd('\0'));
        }
        return program;
    }

    private nint? TryBuildFromBinary(nint device, byte[] binary, string options)
    {
        int error, status;
        nint program;
        fixed (byte* b = binary)
        {
            byte* binaries = b;
            nuint length = (nuint)binary.Length;
            program = _cl.CreateProgramWithBinary(_context, 1, &device, &length, &binaries, &status, &error);
        }
        if (error != 0 || status != 0)
            return null; // a stale or foreign binary: build from source instead
        if (Build(program, device, options) != 0)
        {
            _cl.ReleaseProgram(program);
            return null;
        }
        return program;
    }

    private int Build(nint program, nint device, string options)
    {
        var bytes = Encoding.UTF8.GetBytes(options + "\0");
        fixed (byte* o = bytes)
            lock (OpenClDevices.CallbackCalls)
                return _cl.BuildProgram(program, 1, &device, o, default, null);
    }

    private void TryCache(nint program, string path)
    {
        nuint size = 0;
        if (_cl.GetProgramInfo(program, ProgramInfo.BinarySizes, (nuint)sizeof(nuint), &size, null) != 0 || size == 0)
            return;
        var binary = new byte[size];
        fixed (byte* b = binary)
        {
            byte* binaries = b;
            if (_cl.GetProgramInfo(program, ProgramInfo.Binaries, (nuint)sizeof(nint), &binaries, null) != 0)
                return;
        }
        CacheFile.TryWrite(path, binary);
    }
}

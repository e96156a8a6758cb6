using System.Reflection;
using System.Runtime.InteropServices;

namespace Prelu.Native.Interop;

/// <summary>The C library could not be loaded; the message says where it looked and how to build it.</summary>
public sealed class NativeLibraryUnavailableException(string message, IReadOnlyList<string> searched, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>Every path tried, in order, with why each failed.</summary>
    public IReadOnlyList<string> Searched { get; } = searched;
}

/// <summary>The builds of libprelu's kernels, one per instruction set (prelu_kernel_set in prelu.h).</summary>
public enum NativeKernelSet
{
    /// <summary>Plain C, any CPU.</summary>
    Portable = 0,

    /// <summary>AVX2 and FMA: 6 x 16 register blocks.</summary>
    Avx2 = 1,

    /// <summary>AVX-512F (with AVX2 and FMA): 12 x 32 register blocks, masked edges.</summary>
    Avx512 = 2,

    /// <summary>AArch64's Advanced SIMD (NEON): 6 x 12 register blocks; the arm64 build's only vector set.</summary>
    Neon = 3,
}

/// <summary>
/// Finds and loads libprelu, checks that it speaks this assembly's ABI, and reports what it found.
/// </summary>
public static class PreluNativeLibrary
{
    /// <summary>An explicit path to the library, tried before anything else.</summary>
    public const string PathEnvironmentVariable = "PRELU_NATIVE_LIBRARY";

    /// <summary>The ABI that <see cref="NativeMethods"/> is written against (PRELU_ABI_VERSION in prelu.h).</summary>
    public const int ExpectedAbiVersion = 12;

    /// <summary>The library's file name on this platform (libprelu.so, prelu.dll, libprelu.dylib).</summary>
    public static string FileName => OperatingSystem.IsWindows() ? "prelu.dll"
        : OperatingSystem.IsMacOS() ? "libprelu.dylib" : "libprelu.so";

    /// <summary>How to build the library, for messages that say it is missing.</summary>
    public const string BuildHint =
        "Build it with `dotnet build` (which runs cmake), or by hand: " +
        "`cmake -S . -B artifacts/native -DCMAKE_BUILD_TYPE=Release && cmake --build artifacts/native`, " +
        $"then copy artifacts/native/libprelu.so next to the program or set {PathEnvironmentVariable} to its path.";

    private static readonly Lock Gate = new();
    private static nint _handle;
    private static NativeLibraryUnavailableException? _failure;
    private static bool _attempted;
    private static string _loadedFrom = "";

    /// <summary>
    /// The path the library was loaded from (or the bare file name where the system's loader found it on its own path):
    /// with <see cref="Version"/> and <see cref="KernelsInUse"/>, which build of the C library this process runs.
    /// </summary>
    public static string LoadedFrom
    {
        get
        {
            EnsureLoaded();
            return _loadedFrom;
        }
    }

    /// <summary>Loads the library once; later calls return the first outcome.</summary>
    /// <exception cref="NativeLibraryUnavailableException">It is nowhere to be found, or it speaks another ABI.</exception>
    public static void EnsureLoaded()
    {
        if (!TryEnsureLoaded(out var failure))
            throw failure;
    }

    /// <summary>Like <see cref="EnsureLoaded"/>, for a caller that falls back to another backend.</summary>
    public static bool TryEnsureLoaded([System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out NativeLibraryUnavailableException? failure)
    {
        lock (Gate)
        {
            if (!_attempted)
            {
                _attempted = true;
                try
                {
                    _handle = Locate(CandidatePaths(), out _loadedFrom);
                    NativeLibrary.SetDllImportResolver(typeof(PreluNativeLibrary).Assembly, Resolve);
                    CheckAbi();
                }
                catch (NativeLibraryUnavailableException e)
                {
                    _failure = e;
                }
            }
            failure = _failure;
            return failure is null;
        }
    }

    /// <summary>The runtime identifiers the package carries the library for, under runtimes/&lt;rid&gt;/native.</summary>
    public static IReadOnlyList<string> PackagedRuntimes { get; } = ["linux-x64", "win-x64", "linux-arm64"];

    /// <summary>The places the library is looked for, in order.</summary>
    public static IReadOnlyList<string> CandidatePaths()
    {
        var paths = new List<string>();
        var explicitPath = Environment.GetEnvironmentVariable(PathEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(explicitPath))
            paths.Add(Path.GetFullPath(explicitPath));
        paths.Add(Path.Combine(AppContext.BaseDirectory, FileName));
        // Where NuGet puts a package's native asset in a build for no particular runtime.
        paths.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", FileName));
        // Then whatever the system loader finds on its own path (LD_LIBRARY_PATH, ldconfig).
        paths.Add(FileName);
        return paths;
    }

    /// <summary>Loads the first of <paramref name="candidates"/> that loads.</summary>
    /// <exception cref="NativeLibraryUnavailableException">None does; the message lists each and why.</exception>
    public static nint Locate(IEnumerable<string> candidates) => Locate(candidates, out _);

    private static nint Locate(IEnumerable<string> candidates, out string loadedFrom)
    {
        var searched = new List<string>();
        foreach (var candidate in candidates)
        {
            bool isPath = candidate.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal);
            if (isPath && !File.Exists(candidate))
            {
                searched.Add($"{candidate} (no such file)");
                continue;
            }
            try
            {
                var handle = NativeLibrary.Load(candidate);
                loadedFrom = candidate;
                return handle;
            }
            catch (DllNotFoundException e)
            {
                searched.Add($"{(isPath ? candidate : candidate + " on the system library path")} ({e.Message.Trim()})");
            }
            catch (BadImageFormatException e)
            {
                searched.Add($"{candidate} (not a library for this platform: {e.Message.Trim()})");
            }
        }
        throw new NativeLibraryUnavailableException(
            $"The native kernel library (libprelu) could not be loaded for runtime identifier {RuntimeInformation.RuntimeIdentifier} " +
            $"(the package carries it for {string.Join(", ", PackagedRuntimes)}). Looked in:" + Environment.NewLine +
            string.Join(Environment.NewLine, searched.Select(s => "  - " + s)) + Environment.NewLine + BuildHint,
            searched);
    }

    /// <summary>The library's version, e.g. "0.1.0".</summary>
    public static string Version
    {
        get
        {
            EnsureLoaded();
            return Marshal.PtrToStringUTF8(NativeMethods.Version()) ?? "";
        }
    }

    /// <summary>The build of the kernels in use: the best this CPU runs unless <see cref="SelectKernels"/> chose another.</summary>
    public static NativeKernelSet KernelsInUse
    {
        get
        {
            EnsureLoaded();
            return (NativeKernelSet)NativeMethods.KernelsInUse();
        }
    }

    /// <summary>Whether this CPU runs <paramref name="set"/> (AVX2 needs AVX2 and FMA; AVX-512 needs AVX-512F as well; NEON an arm64 build).</summary>
    public static bool CanRun(NativeKernelSet set)
    {
        EnsureLoaded();
        return NativeMethods.KernelsSupported((int)set) != 0;
    }

    /// <summary>
    /// Uses <paramref name="set"/> from now on, process-wide (tests and comparisons); null goes back to the best
    /// this CPU runs.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">This CPU cannot run <paramref name="set"/>.</exception>
    public static void SelectKernels(NativeKernelSet? set)
    {
        EnsureLoaded();
        if (NativeMethods.SelectKernels(set is { } s ? (int)s : -1) != 0)
            throw new PlatformNotSupportedException($"This CPU cannot run the {Describe(set!.Value)} kernels of libprelu.");
    }

    /// <summary>The kernel set's name as messages print it ("AVX-512", "AVX2/FMA", "NEON", "portable C").</summary>
    public static string Describe(NativeKernelSet set) => set switch
    {
        NativeKernelSet.Avx512 => "AVX-512",
        NativeKernelSet.Avx2 => "AVX2/FMA",
        NativeKernelSet.Neon => "NEON",
        _ => "portable C",
    };

    /// <summary>Threads the kernels use; setting 0 means one per core.</summary>
    public static int Threads
    {
        get
        {
            EnsureLoaded();
            return NativeMethods.GetThreads();
        }
        set
        {
            EnsureLoaded();
            NativeMethods.SetThreads(value);
        }
    }

    /// <summary>
    /// Floating-point operations the C kernels have executed in this process, as each path does them: the multiply-adds
    /// of their products (two operations each), Winograd's transforms, the gradients' sums (a pooled convolution's
    /// backward only over the winners' windows); element-wise work is not counted. The difference between two reads is
    /// what the calls between them executed (fewer than a direct computation of the same layers takes, where Winograd's
    /// transforms or the pooling's winners save work).
    /// </summary>
    public static long FlopsExecuted
    {
        get
        {
            EnsureLoaded();
            return NativeMethods.FlopsExecuted();
        }
    }

    /// <summary>One line for logs: version, kernels, threads.</summary>
    public static string Describe() =>
        $"libprelu {Version}, {Describe(KernelsInUse)} kernels, {Threads} thread(s)";

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == NativeMethods.LibraryName ? _handle : 0;

    private static void CheckAbi()
    {
        int abi;
        try
        {
            abi = NativeMethods.AbiVersion();
        }
        catch (EntryPointNotFoundException e)
        {
            throw new NativeLibraryUnavailableException(
                "The library found as libprelu has no prelu_abi_version: it is not this project's library. " + BuildHint, [], e);
        }
        if (AbiMismatch(abi) is { } refused)
            throw refused;
    }

    /// <summary>Why a library that reports ABI version <paramref name="abi"/> is refused, naming both versions; null when it is this one's.</summary>
    internal static NativeLibraryUnavailableException? AbiMismatch(int abi) => abi == ExpectedAbiVersion
        ? null
        : new NativeLibraryUnavailableException(
            $"The native kernel library speaks ABI version {abi}; this program needs {ExpectedAbiVersion}. " +
            "It is a library from another build: " + BuildHint, []);
}

using System.Runtime.InteropServices;

namespace Prelu.Native.Interop;

/// <summary>
/// The C ABI of libprelu (native/include/prelu.h), bound with source-generated marshalling: no
/// reflection, safe under Native AOT. Call <see cref="PreluNativeLibrary.EnsureLoaded"/> before any of
/// these, so that a missing library is a clear message rather than a bare DllNotFoundException.
/// </summary>
internal static partial class NativeMethods
{
    public const string LibraryName = "prelu";

    [LibraryImport(LibraryName, EntryPoint = "prelu_abi_version")]
    public static partial int AbiVersion();

    [LibraryImport(LibraryName, EntryPoint = "prelu_version")]
    public static partial nint Version();

    [LibraryImport(LibraryName, EntryPoint = "prelu_cpu_features")]
    public static partial int CpuFeatures();

    [LibraryImport(LibraryName, EntryPoint = "prelu_uses_avx2")]
    public static partial int UsesAvx2();

    [LibraryImport(LibraryName, EntryPoint = "prelu_force_portable")]
    public static partial void ForcePortable(int force);

    [LibraryImport(LibraryName, EntryPoint = "prelu_set_threads")]
    public static partial void SetThreads(int threads);

    [LibraryImport(LibraryName, EntryPoint = "prelu_get_threads")]
    public static partial int GetThreads();
}

using System.Runtime.InteropServices;
using Silk.NET.Core.Contexts;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>
/// Loads the OpenCL ICD loader ourselves and hands Silk.NET a context over it. Silk.NET's own
/// <c>CL.GetApi()</c> searches through <c>DefaultPathResolver</c>, which reads <c>Assembly.Location</c> and the
/// deps.json (IL3000/IL3002 under Native AOT, where neither exists); never calling it keeps that code out of an
/// AOT binary. Where it looks, in order: <c>PRELU_OPENCL_LIBRARY</c> (a path or a name), the app's folder, then
/// the system's usual names.
/// </summary>
internal static class OpenClLibrary
{
    public const string EnvironmentVariable = "PRELU_OPENCL_LIBRARY";

    private static readonly string[] Names = OperatingSystem.IsWindows() ? ["OpenCL.dll"]
        : OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"]
        : ["libOpenCL.so.1", "libOpenCL.so"];

    /// <summary>The API over the first library that loads, or null and every place tried.</summary>
    public static CL? TryLoad(out string tried)
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } chosen)
            candidates.Add(chosen);
        candidates.AddRange(Names.Select(name => Path.Combine(AppContext.BaseDirectory, name)));
        candidates.AddRange(Names);
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                tried = candidate;
                return new CL(new Context(handle));
            }
        }
        tried = string.Join(", ", candidates);
        return null;
    }

    // Entry points straight from the loaded library: no search, no reflection.
    private sealed class Context(nint library) : INativeContext
    {
        public nint GetProcAddress(string proc, int? slot = null) =>
            TryGetProcAddress(proc, out var address, slot) ? address : throw new EntryPointNotFoundException($"OpenCL: {proc} is not exported by the loaded library");

        public bool TryGetProcAddress(string proc, out nint address, int? slot = null) =>
            NativeLibrary.TryGetExport(library, proc, out address);

        // The library stays loaded for the process's life, as the OpenCL objects made through it do.
        public void Dispose()
        {
        }
    }
}

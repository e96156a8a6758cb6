using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Interop;
using Prelu.Native.OpenCL;

namespace Prelu.Native.Backends;

/// <summary>Picks the backend a program runs on: by name, or automatically (an OpenCL GPU, else the C library, else managed SIMD).</summary>
public static class BackendChoice
{
    public static IReadOnlyList<string> Names { get; } = ["auto", "opencl", "native", "simd", "managed"];

    /// <summary>
    /// Creates the named backend. "auto" takes an OpenCL GPU when there is one, else the native C library
    /// when it loads, else the managed SIMD kernels, and says why it passed each over; <paramref name="log"/> receives those
    /// lines and the choice. "opencl" takes the device PRELU_OPENCL_DEVICE names (default: the first GPU,
    /// else the first device, such as PoCL on a CPU).
    /// </summary>
    public static Backend Create(string name, int threads, Action<string>? log = null)
    {
        switch (name)
        {
            case "managed":
                log?.Invoke("backend: managed (plain C#, the reference)");
                return new ManagedBackend();
            case "simd":
                var simd = new SimdBackend(threads);
                log?.Invoke($"backend: simd (managed, {simd.VectorBits}-bit vectors, {simd.Threads} threads)");
                return simd;
            case "opencl":
                var opencl = OpenClBackend.Create();
                log?.Invoke($"backend: {opencl.Name}");
                return opencl;
            case "native":
                var native = new NativeBackend(threads);
                log?.Invoke($"backend: native ({PreluNativeLibrary.Describe()})");
                return native;
            case "auto":
                var gpu = OpenClDevices.All().FirstOrDefault(d => d.IsGpu);
                if (gpu is not null)
                {
                    try
                    {
                        var backend = new OpenClBackend(gpu);
                        log?.Invoke($"backend: {backend.Name}");
                        return backend;
                    }
                    catch (ClException e)
                    {
                        log?.Invoke($"The OpenCL GPU {gpu.Name} could not be used ({e.Message}); trying the native library.");
                    }
                }
                if (PreluNativeLibrary.TryEnsureLoaded(out var failure))
                    return Create("native", threads, log);
                log?.Invoke($"The native kernel library is unavailable, so the managed SIMD backend is used instead.{Environment.NewLine}{failure.Message}");
                return Create("simd", threads, log);
            default:
                throw new ArgumentException($"unknown backend '{name}'; choose {string.Join(", ", Names)}", nameof(name));
        }
    }
}

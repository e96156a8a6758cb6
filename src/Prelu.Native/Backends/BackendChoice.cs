using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Interop;

namespace Prelu.Native.Backends;

/// <summary>Picks the backend a program runs on: by name, or automatically (the C library when it loads, else managed).</summary>
public static class BackendChoice
{
    public static IReadOnlyList<string> Names { get; } = ["auto", "native", "managed"];

    /// <summary>
    /// Creates the named backend. "auto" takes the native C library when it loads and says why when it
    /// falls back to managed; <paramref name="log"/> receives that line and the choice.
    /// </summary>
    public static Backend Create(string name, int threads, Action<string>? log = null)
    {
        switch (name)
        {
            case "managed":
                log?.Invoke("backend: managed (plain C#, the reference)");
                return new ManagedBackend();
            case "native":
                var native = new NativeBackend(threads);
                log?.Invoke($"backend: native ({PreluNativeLibrary.Describe()})");
                return native;
            case "auto":
                if (PreluNativeLibrary.TryEnsureLoaded(out var failure))
                    return Create("native", threads, log);
                log?.Invoke($"The native kernel library is unavailable, so the managed backend is used instead.{Environment.NewLine}{failure.Message}");
                return Create("managed", threads, log);
            default:
                throw new ArgumentException($"unknown backend '{name}'; choose {string.Join(", ", Names)}", nameof(name));
        }
    }
}

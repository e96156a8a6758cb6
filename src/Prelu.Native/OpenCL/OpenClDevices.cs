using System.Text;
using Silk.NET.OpenCL;

namespace Prelu.Native.OpenCL;

/// <summary>One OpenCL device, as discovery found it.</summary>
public sealed record OpenClDevice(int Index, nint Platform, nint Id, string PlatformName, string Name, bool IsGpu)
{
    /// <inheritdoc />
    public override string ToString() => $"#{Index} {Name} ({PlatformName}, {(IsGpu ? "GPU" : "not a GPU")})";
}

/// <summary>Finds OpenCL devices and picks one: by <c>PRELU_OPENCL_DEVICE</c> ("gpu", "cpu" or an index), else the first GPU, else the first device.</summary>
public static unsafe class OpenClDevices
{
    /// <summary>Picks the device: "gpu", "cpu" or an index into the devices found.</summary>
    public const string EnvironmentVariable = "PRELU_OPENCL_DEVICE";

    private static readonly Lazy<(CL? Api, string Tried)> Api = new(() => (OpenClLibrary.TryLoad(out var tried), tried));

    internal static CL ApiOrThrow() => Api.Value.Api ?? throw new ClException("loading the OpenCL library", -1001,
        $"no OpenCL ICD loader found (tried {Api.Value.Tried}); install one (apt-get install ocl-icd-libopencl1 pocl-opencl-icd for CPUs) " +
        $"or point {OpenClLibrary.EnvironmentVariable} at it");

    /// <summary>
    /// Held around every call of the shared API that takes a callback (clCreateContext, clBuildProgram): Silk.NET pins
    /// the callback until the next call through the same slot in bookkeeping shared by the whole API, whose update is
    /// not safe to race (two test classes building programs at once threw from inside it).
    /// </summary>
    internal static readonly Lock CallbackCalls = new();

    // Discovery runs one caller at a time: under load, two test classes discovering at once once saw PoCL
    // report no platform (the ICD loader's and the driver's first initialisation are not known to be safe to race).
    private static readonly Lock Discovery = new();

    /// <summary>Every device of every platform; empty when there is no OpenCL.</summary>
    public static IReadOnlyList<OpenClDevice> All()
    {
        lock (Discovery)
            return Discover();
    }

    private static List<OpenClDevice> Discover()
    {
        var cl = Api.Value.Api;
        if (cl is null)
            return [];
        uint platformCount = 0;
        if (cl.GetPlatformIDs(0, null, &platformCount) != 0 || platformCount == 0)
            return [];
        var platforms = new nint[platformCount];
        fixed (nint* p = platforms)
            ClException.Check(cl.GetPlatformIDs(platformCount, p, null), "clGetPlatformIDs");
        var devices = new List<OpenClDevice>();
        foreach (var platform in platforms)
        {
            uint count = 0;
            if (cl.GetDeviceIDs(platform, DeviceType.All, 0, null, &count) != 0 || count == 0)
                continue;
            var ids = new nint[count];
            fixed (nint* d = ids)
                ClException.Check(cl.GetDeviceIDs(platform, DeviceType.All, count, d, null), "clGetDeviceIDs");
            string platformName = PlatformText(cl, platform, PlatformInfo.Name);
            foreach (var id in ids)
            {
                ulong type = 0;
                ClException.Check(cl.GetDeviceInfo(id, DeviceInfo.Type, sizeof(ulong), &type, null), "clGetDeviceInfo(TYPE)");
                devices.Add(new OpenClDevice(devices.Count, platform, id, platformName, DeviceText(cl, id, DeviceInfo.Name),
                    (type & (ulong)DeviceType.Gpu) != 0));
            }
        }
        return devices;
    }

    /// <summary>The device to use, or null with the reason when there is none (or the choice names none).</summary>
    public static OpenClDevice? Choose(string? choice, out string reason)
    {
        var all = All();
        choice ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        reason = "";
        if (all.Count == 0)
        {
            reason = "no OpenCL platform or device was found (install an OpenCL driver: pocl-opencl-icd on a CPU, the GPU vendor's otherwise)";
            return null;
        }
        OpenClDevice? device = choice?.Trim().ToLowerInvariant() switch
        {
            null or "" => all.FirstOrDefault(d => d.IsGpu) ?? all[0],
            "gpu" => all.FirstOrDefault(d => d.IsGpu),
            "cpu" => all.FirstOrDefault(d => !d.IsGpu),
            var text when int.TryParse(text, out int index) => index >= 0 && index < all.Count ? all[index] : null,
            _ => null,
        };
        if (device is null)
            reason = $"{EnvironmentVariable}='{choice}' names no device; the devices are: {string.Join("; ", all)}";
        return device;
    }

    private static string PlatformText(CL cl, nint platform, PlatformInfo info)
    {
        nuint size = 0;
        ClException.Check(cl.GetPlatformInfo(platform, info, 0, null, &size), "clGetPlatformInfo");
        var bytes = new byte[size];
        fixed (byte* b = bytes)
            ClException.Check(cl.GetPlatformInfo(platform, info, size, b, null), "clGetPlatformInfo");
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }

    internal static string DeviceText(CL cl, nint device, DeviceInfo info)
    {
        nuint size = 0;
        ClException.Check(cl.GetDeviceInfo(device, info, 0, null, &size), "clGetDeviceInfo");
        var bytes = new byte[size];
        fixed (byte* b = bytes)
            ClException.Check(cl.GetDeviceInfo(device, info, size, b, null), "clGetDeviceInfo");
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }
}

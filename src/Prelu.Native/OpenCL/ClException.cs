namespace Prelu.Native.OpenCL;

/// <summary>An OpenCL call failed; the message names the call and the CL error.</summary>
public sealed class ClException(string call, int code, string? detail = null)
    : Exception($"OpenCL {call} failed with {Name(code)} ({code}){(detail is null ? "" : ": " + detail)}")
{
    /// <summary>The OpenCL call that failed (with a launch's sizes).</summary>
    public string Call { get; } = call;
    /// <summary>The OpenCL error code it returned.</summary>
    public int Code { get; } = code;

    internal static void Check(int code, string call)
    {
        if (code != 0)
            throw new ClException(call, code);
    }

    /// <summary>The CL_* name of an error code.</summary>
    public static string Name(int code) => code switch
    {
        -1 => "CL_DEVICE_NOT_FOUND",
        -2 => "CL_DEVICE_NOT_AVAILABLE",
        -3 => "CL_COMPILER_NOT_AVAILABLE",
        -4 => "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5 => "CL_OUT_OF_RESOURCES",
        -6 => "CL_OUT_OF_HOST_MEMORY",
        -11 => "CL_BUILD_PROGRAM_FAILURE",
        -30 => "CL_INVALID_VALUE",
        -32 => "CL_INVALID_PLATFORM",
        -33 => "CL_INVALID_DEVICE",
        -34 => "CL_INVALID_CONTEXT",
        -36 => "CL_INVALID_COMMAND_QUEUE",
        -38 => "CL_INVALID_MEM_OBJECT",
        -44 => "CL_INVALID_PROGRAM",
        -45 => "CL_INVALID_PROGRAM_EXECUTABLE",
        -46 => "CL_INVALID_KERNEL_NAME",
        -48 => "CL_INVALID_KERNEL",
        -49 => "CL_INVALID_ARG_INDEX",
        -50 => "CL_INVALID_ARG_VALUE",
        -51 => "CL_INVALID_ARG_SIZE",
        -52 => "CL_INVALID_KERNEL_ARGS",
        -54 => "CL_INVALID_WORK_GROUP_SIZE",
        -61 => "CL_INVALID_BUFFER_SIZE",
        -63 => "CL_INVALID_GLOBAL_WORK_SIZE",
        -1001 => "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver is installed)",
        _ => "an OpenCL error",
    };
}

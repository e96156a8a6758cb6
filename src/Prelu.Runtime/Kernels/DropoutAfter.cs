namespace Prelu.Kernels;

/// <summary>
/// A dropout run on a fused call's result in the same call (<see cref="Backend.Conv2DPoolForward"/>): what
/// <see cref="Backend.DropoutForward"/>(Rate, Seed, Step, result, Mask, Output) would compute, to the bit, with the
/// result itself left as the call's workspace. A backend that stores the dropout's mask and output where it makes the
/// result saves writing the result and reading it back (the C library does, where it pools by winners).
/// </summary>
public readonly record struct DropoutAfter(float Rate, ulong Seed, ulong Step, DeviceBuffer Mask, DeviceBuffer Output);

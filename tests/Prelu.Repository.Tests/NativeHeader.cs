using System.Buffers.Binary;

namespace Prelu.Repository.Tests;

/// <summary>What a native library's file header says it is: the format and the processor ("ELF x86-64", "PE32+ x86-64", "ELF aarch64").</summary>
public static class NativeHeader
{
    public static string Describe(ReadOnlySpan<byte> file)
    {
        if (file.Length >= 20 && file[..4].SequenceEqual("\u007fELF"u8))
        {
            // e_ident[EI_CLASS] 2: 64-bit; e_machine at 18, little-endian (e_ident[EI_DATA] 1).
            string bits = file[4] == 2 ? "" : " (32-bit)";
            return BinaryPrimitives.ReadUInt16LittleEndian(file[18..]) switch
            {
                0x3E => "ELF x86-64" + bits,
                0xB7 => "ELF aarch64" + bits,
                var machine => $"ELF machine 0x{machine:X}" + bits,
            };
        }
        if (file.Length >= 64 && file[..2].SequenceEqual("MZ"u8))
        {
            // The PE header's offset at 0x3C; after "PE\0\0", the machine (2 bytes), and 20 bytes on, the optional header's magic.
            int pe = BinaryPrimitives.ReadInt32LittleEndian(file[0x3C..]);
            if (pe < 0 || pe + 26 > file.Length || !file.Slice(pe, 4).SequenceEqual("PE\0\0"u8))
                return "MZ without a PE header";
            ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(file[(pe + 4)..]);
            ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(file[(pe + 24)..]);
            string format = magic == 0x20B ? "PE32+" : magic == 0x10B ? "PE32" : $"PE magic 0x{magic:X}";
            return machine switch
            {
                0x8664 => $"{format} x86-64",
                0xAA64 => $"{format} arm64",
                _ => $"{format} machine 0x{machine:X}",
            };
        }
        return "unknown";
    }
}

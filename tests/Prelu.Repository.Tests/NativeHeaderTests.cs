namespace Prelu.Repository.Tests;

/// <summary>The header reader the package test trusts, on the libraries this machine built (and a file that is none).</summary>
public sealed class NativeHeaderTests
{
    private static readonly string Root = Prelu.Tests.Shared.Readme.RepositoryRoot();

    [Fact]
    public void It_reads_the_format_and_processor_of_each_build_and_refuses_a_text_file()
    {
        Assert.Equal("ELF x86-64", NativeHeader.Describe(File.ReadAllBytes(Path.Combine(Root, "artifacts", "native", "libprelu.so"))));
        foreach (var (file, expected) in new[] { ("native-win-x64/prelu.dll", "PE32+ x86-64"), ("native-linux-arm64/libprelu.so", "ELF aarch64") })
        {
            var path = Path.Combine(Root, "artifacts", file);
            if (File.Exists(path)) // cross-built by scripts/test and scripts/pack before the tests run
                Assert.Equal(expected, NativeHeader.Describe(File.ReadAllBytes(path)));
        }
        Assert.Equal("unknown", NativeHeader.Describe("not a library"u8));
        var dosStubOnly = new byte[64];
        "MZ"u8.CopyTo(dosStubOnly);
        Assert.Equal("MZ without a PE header", NativeHeader.Describe(dosStubOnly));
    }
}

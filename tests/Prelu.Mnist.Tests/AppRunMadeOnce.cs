using Prelu.Tests.Shared;

namespace Prelu.Mnist.Tests;

/// <summary>
/// An app run that several tests of one class compare with (a class fixture): made on first use, in a temporary folder
/// of its own, once for all of them.
/// </summary>
public abstract class AppRunMadeOnce : IDisposable
{
    private (int Code, string Output)? _run;

    /// <summary>The run's folder: what <see cref="Arguments"/> passes as its output is under it.</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("prelu-app-once-").FullName;

    /// <summary>The run's exit code and output.</summary>
    public (int Code, string Output) Run => _run ??= ChildProcess.RunApp(Arguments(Folder));

    /// <summary>The app's arguments, its output in <paramref name="folder"/>.</summary>
    protected abstract string[] Arguments(string folder);

    public void Dispose()
    {
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}

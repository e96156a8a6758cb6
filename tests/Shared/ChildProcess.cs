using System.Diagnostics;

namespace Prelu.Tests.Shared;

/// <summary>Programs the tests run as a user would: the study app (through `dotnet`), scripts, published binaries.</summary>
internal static class ChildProcess
{
    /// <summary>The study app, built beside the tests of the projects that reference it.</summary>
    public static readonly string App = Path.Combine(AppContext.BaseDirectory, "prelu-mnist.dll");

    /// <summary>Starts <paramref name="file"/> with its output redirected and plain progress lines (CI=true).</summary>
    public static Process Start(string file, string? folder, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (folder is not null)
            start.WorkingDirectory = folder;
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["CI"] = "true";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return Process.Start(start)!;
    }

    /// <summary>Runs <paramref name="file"/> to its end: the exit code, and standard output followed by standard error.</summary>
    public static (int Code, string Output) Run(string file, string? folder, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(file, folder, arguments, environment);
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    /// <summary>The study app, run to its end.</summary>
    public static (int Code, string Output) RunApp(params string[] arguments) => Run("dotnet", null, [App, .. arguments]);
}

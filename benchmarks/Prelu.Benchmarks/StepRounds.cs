using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Prelu.Mnist.Reporting;

namespace Prelu.Benchmarks;

/// <summary>
/// `step --rounds N`: the same timing in N fresh processes one after another, each printed as it ends, then each
/// model's figure against the first model, and each backend's speed against the first backend, round by round with the
/// median. A model can be slower through a whole process (where its buffers fell), which no pairing within a process
/// removes, and the shared machine moves between faster and slower states over minutes: a comparison of two models or
/// two builds wants rounds, and this runs them with one command.
/// </summary>
internal static partial class StepRounds
{
    public static int Run(int rounds, IEnumerable<string> stepArguments)
    {
        string benchmarks = typeof(StepRounds).Assembly.Location;
        var against = new Dictionary<(string Backend, string Run), List<(double Medians, double Turns)>>();
        var speeds = new Dictionary<(string Backend, string Run), List<double>>();
        string? first = null, firstBackend = null;
        for (int round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"== round {round} of {rounds}");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(benchmarks);
            start.ArgumentList.Add("step");
            foreach (var argument in stepArguments)
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            string backend = "";
            for (string? line; (line = process.StandardOutput.ReadLine()) is not null;)
            {
                Console.WriteLine(line);
                if (BackendLine().Match(line) is { Success: true } header)
                    backend = header.Groups["backend"].Value;
                else if (ModelLine().Match(line) is { Success: true } model)
                {
                    first = model.Groups["first"].Value;
                    Add(against, (backend, model.Groups["run"].Value), (Percent(model.Groups["medians"].Value), Percent(model.Groups["turns"].Value)));
                }
                else if (SpeedLine().Match(line) is { Success: true } speed)
                {
                    firstBackend = speed.Groups["first"].Value;
                    Add(speeds, (speed.Groups["backend"].Value, speed.Groups["run"].Value), double.Parse(speed.Groups["ratio"].Value, CultureInfo.InvariantCulture));
                }
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.Error.WriteLine($"round {round} ended with exit code {process.ExitCode}; no summary");
                return process.ExitCode;
            }
        }
        Console.WriteLine($"== {rounds} rounds");
        foreach (var ((backend, run), figures) in against)
        {
            if (run == first)
                continue;
            Console.WriteLine($"prelu {backend} {run} against {first}, by the medians: {Round(figures.Select(f => f.Medians))}; " +
                $"turn by turn: {Round(figures.Select(f => f.Turns))}");
        }
        foreach (var ((backend, run), ratios) in speeds)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"prelu {run}: {backend} at " +
                $"{string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))} times the speed of {firstBackend} (median {StepTiming.Median(ratios):F2})"));
        return 0;
    }

    private static void Add<T>(Dictionary<(string, string), List<T>> figures, (string, string) key, T value)
    {
        if (!figures.TryGetValue(key, out var list))
            figures[key] = list = [];
        list.Add(value);
    }

    private static double Percent(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    // The rounds' percentages in order, and their median.
    private static string Round(IEnumerable<double> percents)
    {
        var list = percents.ToList();
        return $"{string.Join(", ", list.Select(p => Numbers.Signed(p, 1) + "%"))} (median {Numbers.Signed(StepTiming.Median(list), 1)}%)";
    }

    // "prelu native: native (libprelu ...), batch 250, ...": the backend whose models follow.
    [GeneratedRegex(@"^prelu (?<backend>[\w-]+): .*, batch \d+, ")]
    private static partial Regex BackendLine();

    // "prelu prelu: 27.1 ms per step, ..., +0.2% against relu; turn by turn +4.8% (...)".
    [GeneratedRegex(@"^prelu (?<run>[\w.-]+): [\d.]+ ms per step, .* (?<medians>[+-]?[\d.]+)% against (?<first>[\w.-]+); turn by turn (?<turns>[+-]?[\d.]+)%")]
    private static partial Regex ModelLine();

    // "prelu relu: opencl runs at 0.58x the speed of native (...)".
    [GeneratedRegex(@"^prelu (?<run>[\w.-]+): (?<backend>[\w-]+) runs at (?<ratio>[\d.]+)x the speed of (?<first>[\w-]+) ")]
    private static partial Regex SpeedLine();
}

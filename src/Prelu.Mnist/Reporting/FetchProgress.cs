using System.Globalization;

namespace Prelu.Mnist.Reporting;

/// <summary>A download's progress as a line every tenth of the file, rather than one per buffer.</summary>
public sealed class FetchProgress : IProgress<MnistFetchProgress>
{
    private readonly Dictionary<string, int> _lastTenth = [];

    public void Report(MnistFetchProgress value)
    {
        if (value.TotalBytes is not > 0)
            return;
        int tenth = (int)(10 * value.Bytes / value.TotalBytes.Value);
        if (_lastTenth.TryGetValue(value.File, out var last) && last == tenth)
            return;
        _lastTenth[value.File] = tenth;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {value.File} from {value.Source}: {10 * tenth}% of {value.TotalBytes.Value:N0} bytes"));
    }
}

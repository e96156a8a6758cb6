using System.Diagnostics;
using System.Text.RegularExpressions;
using Prelu.Tests.Shared;

namespace Prelu.Repository.Tests;

/// <summary>
/// Every relative link and image in README.md and docs/ points at a file the repository tracks (a file that
/// exists only where someone ran the study, or that .gitignore keeps out, is a broken link on a fresh clone).
/// </summary>
public sealed partial class DocLinkTests
{
    [Fact]
    public void Every_relative_link_in_the_docs_resolves_to_a_tracked_file()
    {
        string root = Readme.RepositoryRoot();
        var tracked = Git(root, "ls-files").Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var documents = tracked.Where(f => f == "README.md" || (f.StartsWith("docs/", StringComparison.Ordinal) && f.EndsWith(".md", StringComparison.Ordinal))).ToList();
        Assert.Contains("docs/ARCHITECTURE.md", documents);

        var broken = new List<string>();
        int links = 0;
        foreach (var document in documents)
        {
            string folder = Path.GetDirectoryName(document) ?? "";
            foreach (Match link in Link().Matches(File.ReadAllText(Path.Combine(root, document))))
            {
                string target = link.Groups[1].Value.Split('#')[0];
                if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                    continue;
                links++;
                string resolved = Path.GetRelativePath(root, Path.GetFullPath(Path.Combine(root, folder, target))).Replace('\\', '/');
                bool isTracked = tracked.Contains(resolved) || tracked.Any(f => f.StartsWith(resolved.TrimEnd('/') + "/", StringComparison.Ordinal));
                if (!isTracked)
                    broken.Add($"{document}: {link.Value} -> {resolved}");
            }
        }
        Assert.True(links >= 10, $"only {links} relative links found");
        Assert.True(broken.Count == 0, "links to files the repository does not track:\n" + string.Join('\n', broken));
    }

    private static string Git(string folder, string arguments)
    {
        var start = new ProcessStartInfo("git", arguments) { WorkingDirectory = folder, RedirectStandardOutput = true, UseShellExecute = false };
        using var git = Process.Start(start)!;
        string output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        Assert.True(git.ExitCode == 0, $"git {arguments} failed in {folder}");
        return output;
    }

    // [text](target) and ![alt](target), outside code spans' backticks
    [GeneratedRegex(@"!?\[[^\]]*\]\(([^)\s]+)\)")]
    private static partial Regex Link();
}

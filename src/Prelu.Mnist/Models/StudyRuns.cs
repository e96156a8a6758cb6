using Prelu.Kernels;
using Prelu.Models;

namespace Prelu.Mnist.Models;

/// <summary>One configuration of the study: its name on the command line, its label in tables, and its model.</summary>
public sealed record StudyRun(string Name, string Label, Func<Backend, int, CompiledModel> Create);

public static class StudyRuns
{
    public static IReadOnlyList<StudyRun> All { get; } =
    [
        new("relu", "ReLU", (backend, batch) => new StudyRelu(backend, batch)),
        new("prelu", "PReLU, alphas from 0", (backend, batch) => new StudyPRelu(backend, batch)),
        new("prelu-0.25", "PReLU, alphas from 0.25", (backend, batch) => new StudyPRelu25(backend, batch)),
        new("prelu-channel", "channel-wise PReLU, from 0.25", (backend, batch) => new StudyPReluChannelWise(backend, batch)),
        new("prelu-shared", "channel-shared PReLU, from 0.25", (backend, batch) => new StudyPReluChannelShared(backend, batch)),
        new("leaky-relu", "LeakyReLU, alpha 0.1", (backend, batch) => new StudyLeakyRelu(backend, batch)),
    ];

    /// <summary>The study's three runs.</summary>
    public static IReadOnlyList<string> Default { get; } = ["relu", "prelu", "prelu-0.25"];

    public static StudyRun Find(string name) => All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"unknown run '{name}'; the runs are {string.Join(", ", All.Select(r => r.Name))}");
}

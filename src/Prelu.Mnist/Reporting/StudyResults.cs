using System.Text.Json.Serialization;

namespace Prelu.Mnist.Reporting;

/// <summary>Learned PReLU coefficients of one layer, as the paper tabulates them.</summary>
public sealed record AlphaSummary(string Layer, int Count, double Mean, double Min, double Max);

/// <summary>One run of the study (a configuration and a seed): its history, its test score, and what its PReLU layers learned.</summary>
public sealed record RunResult(
    string Name,
    ulong Seed,
    string Label,
    string Model,
    int Parameters,
    IReadOnlyList<EpochMetrics> History,
    double TestLoss,
    double TestAccuracy,
    double SecondsPerEpoch,
    double ImagesPerSecond,
    IReadOnlyList<AlphaSummary> Alphas,
    string Checkpoint);

/// <summary>
/// The whole study, as results.json holds it: every run, with several seeds what they say together, and how long
/// training and evaluating took in this session (a resumed study counts only what it did after resuming).
/// </summary>
public sealed record StudyResults(
    string Backend,
    string Machine,
    int Epochs,
    int BatchSize,
    double ValidationSplit,
    IReadOnlyList<ulong> Seeds,
    string Command,
    IReadOnlyList<RunResult> Runs,
    SeedComparison? Comparison,
    double Seconds,
    bool Resumed);

/// <summary>System.Text.Json's source-generated serializer: no reflection, safe under Native AOT.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StudyResults))]
internal sealed partial class StudyJsonContext : JsonSerializerContext;

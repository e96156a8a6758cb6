using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using Prelu.Kernels;
using Prelu.Native.OpenCL;
using ScottPlot;

namespace Prelu.Benchmarks;

/// <summary>
/// `benchmarks/run`: measures the machine's peak (both probes) and memory bandwidth, runs every Perf_
/// class in BenchmarkDotNet (a short in-process job by default, BenchmarkDotNet's default job with --full),
/// and writes docs/benchmarks.md and its two plots from the results, so that every number in the file
/// comes from this one run.
/// </summary>
internal static partial class BenchmarkTables
{
    private static readonly Type[] Areas =
    [
        typeof(Perf_Conv2D), typeof(Perf_Dense), typeof(Perf_PRelu), typeof(Perf_MaxPool2D),
        typeof(Perf_SoftmaxCrossEntropy), typeof(Perf_Adam), typeof(Perf_Predict), typeof(Perf_TrainingStep), typeof(Perf_StepScaling),
    ];

    private static readonly string[] Methods = ["Managed", "Simd", "Native", "OpenCl", "OnnxRuntime1", "OnnxRuntime2"];

    private static readonly Dictionary<string, string> BackendLabels = new()
    {
        ["Managed"] = "managed scalar", ["Simd"] = "managed SIMD", ["Native"] = "native (C)", ["OpenCl"] = "OpenCL",
        ["OnnxRuntime1"] = "ONNX Runtime 1.32, 1 thread", ["OnnxRuntime2"] = "ONNX Runtime 1.32, 2 threads",
        ["managed"] = "managed scalar", ["simd"] = "managed SIMD", ["native"] = "native (C)", ["opencl"] = "OpenCL",
    };

    /// <summary>FLOPs of one training step of the study's model per image: forward 5.67 M, backward without the first layer's input gradient 10.96 M.</summary>
    private const double StepFlopsPerImage = 16.63e6;

    public static int Run(bool full)
    {
        string root = RepositoryRoot();
        var clock = Stopwatch.StartNew();
        Console.WriteLine("Measuring the peak (C probe, managed probe) and the memory bandwidth");
        var cProbe = RunProcess(Path.Combine(root, "artifacts", "native", "prelu_fma_peak"));
        var managedProbe = PeakProbe.Measure();
        double bandwidth = MemoryBandwidth.Measure();

        var summaries = Areas.Select(area => BenchmarkRunner.Run(area, Config(root, full, area))).ToList();

        var doc = Write(root, full, cProbe, managedProbe, bandwidth, summaries, clock.Elapsed);
        File.WriteAllText(Path.Combine(root, "docs", "benchmarks.md"), doc);
        Console.WriteLine($"Wrote docs/benchmarks.md, docs/benchmarks-step.png and docs/benchmarks-scaling.png in {clock.Elapsed.TotalMinutes:F1} min");
        return summaries.All(s => s.Reports.All(r => r.Success)) ? 0 : 1;
    }

    // The short job: in process (no build per case), 1 warm-up and 3 iterations of at least 100 ms; the
    // whole-step classes, the headline figures, get 5 iterations of at least 250 ms.
    private static ManualConfig Config(string root, bool full, Type area)
    {
        bool step = area == typeof(Perf_TrainingStep) || area == typeof(Perf_StepScaling);
        var job = full
            ? Job.Default.WithId("default")
            : Job.ShortRun.WithWarmupCount(1).WithIterationCount(step ? 5 : 3).WithIterationTime(TimeInterval.FromMilliseconds(step ? 250 : 100))
                .WithToolchain(InProcessEmitToolchain.Instance).WithId("short");
        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub, CsvExporter.Default)
            .WithArtifactsPath(Path.Combine(root, "artifacts", "benchmarks"));
    }

    private static string Write(string root, bool full, List<string> cProbe, List<string> managedProbe, double bandwidth,
        List<Summary> summaries, TimeSpan elapsed)
    {
        var peaks = cProbe.Select(line => PeakLine().Match(line)).Where(m => m.Success)
            .ToDictionary(m => (m.Groups["isa"].Value, int.Parse(m.Groups["threads"].Value, CultureInfo.InvariantCulture)),
                m => double.Parse(m.Groups["gflops"].Value, CultureInfo.InvariantCulture));
        int cores = Environment.ProcessorCount;
        string peakIsa = peaks.ContainsKey(("avx512", cores)) ? "avx512" : "avx2";
        double peak = peaks.GetValueOrDefault((peakIsa, cores), double.NaN);
        double avx2Peak = peaks.GetValueOrDefault(("avx2", cores), double.NaN);

        var md = new StringBuilder();
        md.AppendLine("# Benchmarks");
        md.AppendLine();
        md.AppendLine($"Written by `benchmarks/run{(full ? " --full" : "")}` on {DateTime.UtcNow:yyyy-MM-dd} in {elapsed.TotalMinutes:F0} minutes; every number below comes");
        md.AppendLine("from that one run (do not edit by hand: run it again). Each benchmark checks its results against the scalar");
        md.AppendLine("reference once before it is timed. Times are BenchmarkDotNet's means " +
            (full ? "(its default job, out of process)." : "(a short job in process: 1 warm-up and 3 iterations of at least 100 ms, 5 of at least 250 ms for the whole step; `--full` runs BenchmarkDotNet's default job)."));
        md.AppendLine("This machine is shared and noisy: compare figures within one table, not across runs.");
        md.AppendLine();
        md.AppendLine("## Machine");
        md.AppendLine();
        md.AppendLine($"- CPU: {CpuName()}, {cores} cores; .NET {Environment.Version}; {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        md.AppendLine($"- OpenCL: {OpenClDeviceName()}");
        md.AppendLine($"- Peak float32 FMA rate, from `artifacts/native/prelu_fma_peak` (benchmarks/probe/fma_peak.c; its timed loops are checked by FmaProbeTests):");
        foreach (var line in cProbe)
            md.AppendLine($"  - {line}");
        md.AppendLine("- The same, from the independent managed probe (`Prelu.Benchmarks peak`: RyuJIT, other chain counts):");
        foreach (var line in managedProbe)
            md.AppendLine($"  - {line}");
        md.AppendLine($"- Memory bandwidth (two threads adding arrays of 64 MB, bytes read and written): {bandwidth:F1} GB/s.");
        md.AppendLine();
        md.AppendLine($"The peak is the {cores}-core {peakIsa} figure, **{peak:F0} GFLOP/s** (the {cores}-core AVX2 figure, {avx2Peak:F0} GFLOP/s, is the");
        md.AppendLine("ceiling of kernels that use 256-bit vectors only, as the C library's do today).");
        md.AppendLine();

        var step = summaries.Single(s => s.BenchmarksCases.First().Descriptor.Type == typeof(Perf_TrainingStep));
        WriteStep(md, root, step, peak);
        WriteScaling(md, root, summaries.Single(s => s.BenchmarksCases.First().Descriptor.Type == typeof(Perf_StepScaling)));
        md.AppendLine("## Layers and operations");
        md.AppendLine();
        md.AppendLine("Batch 250 throughout (Perf_Predict: 1 and 100 images; beside the backends, ONNX Runtime 1.32's CPU provider runs the same weights exported by OnnxExport, at 1 and 2 intra-op threads with every graph optimisation); speed-ups are the scalar reference's time (and the managed SIMD backend's) over the row's.");
        foreach (var summary in summaries.Where(s => s != step && s.BenchmarksCases.First().Descriptor.Type != typeof(Perf_StepScaling)))
            WriteArea(md, summary);
        WriteRoofline(md, peak, bandwidth);
        return md.ToString();
    }

    private static void WriteStep(StringBuilder md, string root, Summary summary, double peak)
    {
        md.AppendLine("## The study's training step");
        md.AppendLine();
        md.AppendLine($"`Perf_TrainingStep`: forward, loss, backward and Adam of the study's model, batch {Perf_TrainingStep.Batch}, {BackendWorkloads.Threads} threads where a backend has threads.");
        md.AppendLine();
        md.AppendLine("GFLOP/s here are dense-equivalent: the step's 4.16 GFLOP as a direct computation takes them, per second. The C library");
        md.AppendLine("executes fewer (Winograd's transforms for the second convolution, the backward at the pooling's winners only), so its rate");
        md.AppendLine("is no share of the peak and may exceed it.");
        md.AppendLine();
        md.AppendLine("| backend | activation | time per step | images / s | dense-equivalent GFLOP/s | vs scalar | vs managed SIMD | allocated / step |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        var bars = new List<(string Backend, string Activation, double ImagesPerSecond)>();
        foreach (var activation in new[] { "relu", "prelu" })
        {
            var rows = Rows(summary, activation);
            foreach (var method in Methods)
            {
                if (!rows.TryGetValue(method, out var row))
                    continue;
                double seconds = row.MeanNs / 1e9, images = Perf_TrainingStep.Batch / seconds;
                double gflops = StepFlopsPerImage * images / 1e9;
                bars.Add((BackendLabels[method], activation, images));
                md.AppendLine($"| {BackendLabels[method]} | {activation} | {Time(row.MeanNs)} | {images:N0} | {gflops:F1} | " +
                    $"{Speedup(rows, "Managed", row)} | {Speedup(rows, "Simd", row)} | {Bytes(row.Allocated)} |");
            }
        }
        md.AppendLine();
        md.AppendLine("![images per second per backend](benchmarks-step.png)");
        md.AppendLine();
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var backends = bars.Select(b => b.Backend).Distinct().ToList();
        var activations = new[] { "relu", "prelu" };
        var barList = new List<Bar>();
        for (int i = 0; i < backends.Count; i++)
        {
            for (int a = 0; a < activations.Length; a++)
            {
                var bar = bars.FirstOrDefault(b => b.Backend == backends[i] && b.Activation == activations[a]);
                barList.Add(new Bar { Position = i * 3 + a, Value = bar.ImagesPerSecond, FillColor = palette.GetColor(a), Label = $"{bar.ImagesPerSecond:N0}" });
            }
        }
        var series = plot.Add.Bars(barList);
        series.ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.SetTicks(backends.Select((_, i) => i * 3 + 0.5).ToArray(), backends.ToArray());
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "ReLU", FillColor = palette.GetColor(0) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "PReLU (per element)", FillColor = palette.GetColor(1) });
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title($"The study's training step, batch {Perf_TrainingStep.Batch}: images per second");
        plot.YLabel("images / s");
        plot.Axes.Margins(bottom: 0);
        plot.SavePng(Path.Combine(root, "docs", "benchmarks-step.png"), 900, 500);
    }

    private static void WriteScaling(StringBuilder md, string root, Summary summary)
    {
        md.AppendLine("## Scaling: batch size and threads");
        md.AppendLine();
        md.AppendLine("`Perf_StepScaling`: the PReLU step's images per second (batch / time) by batch size and threads. OpenCL's threads are its device's.");
        md.AppendLine();
        var cells = summary.Reports.Where(r => r.ResultStatistics is not null)
            .Select(r => (Case: Perf_StepScaling.Parse((string)r.BenchmarkCase.Parameters["Case"]), r.ResultStatistics!.Mean))
            .ToList();
        var batches = cells.Select(c => c.Case.Batch).Distinct().Order().ToList();
        md.AppendLine($"| backend | threads | {string.Join(" | ", batches.Select(b => $"batch {b}"))} |");
        md.AppendLine($"|---|---:|{string.Concat(batches.Select(_ => "---:|"))}");
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int color = 0;
        var order = BackendWorkloads.BackendNames.ToList();
        foreach (var group in cells.GroupBy(c => (c.Case.Backend, c.Case.Threads)).OrderBy(g => order.IndexOf(g.Key.Backend)).ThenBy(g => g.Key.Threads))
        {
            string threads = group.Key.Threads == 0 ? "device" : group.Key.Threads.ToString(CultureInfo.InvariantCulture);
            var perBatch = group.ToDictionary(c => c.Case.Batch, c => c.Case.Batch / (c.Mean / 1e9));
            md.AppendLine($"| {BackendLabels[group.Key.Backend]} | {threads} | {string.Join(" | ", batches.Select(b => perBatch.TryGetValue(b, out var v) ? v.ToString("N0", CultureInfo.InvariantCulture) : ""))} |");
            var xs = perBatch.Keys.Order().ToArray();
            var line = plot.Add.Scatter(xs.Select(b => Math.Log10(b)).ToArray(), xs.Select(b => perBatch[b]).ToArray(), palette.GetColor(color++));
            line.LegendText = $"{BackendLabels[group.Key.Backend]}, {threads} thread{(threads == "1" ? "" : "s")}";
            line.LineWidth = 2;
        }
        md.AppendLine();
        md.AppendLine("![images per second against batch size](benchmarks-scaling.png)");
        md.AppendLine();
        plot.Axes.Bottom.SetTicks(batches.Select(b => Math.Log10(b)).ToArray(), batches.Select(b => b.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.XLabel("batch size (log scale)");
        plot.YLabel("images / s");
        plot.Title("The study's PReLU training step: images per second");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Axes.Margins(bottom: 0);
        plot.SavePng(Path.Combine(root, "docs", "benchmarks-scaling.png"), 900, 550);
    }

    private static void WriteArea(StringBuilder md, Summary summary)
    {
        var type = summary.BenchmarksCases.First().Descriptor.Type;
        md.AppendLine();
        md.AppendLine($"### {type.Name}");
        md.AppendLine();
        string parameter = summary.BenchmarksCases.First().Parameters.Items.Single().Name;
        md.AppendLine($"| {parameter.ToLowerInvariant()} | backend | mean | vs scalar | vs managed SIMD | allocated |");
        md.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (var value in summary.BenchmarksCases.Select(c => c.Parameters.Items.Single().Value?.ToString() ?? "").Distinct())
        {
            var rows = Rows(summary, value);
            var timed = summary.BenchmarksCases.Select(c => c.Descriptor.WorkloadMethod.Name).ToHashSet();
            foreach (var method in Methods.Where(timed.Contains))
            {
                if (rows.TryGetValue(method, out var row))
                    md.AppendLine($"| {value} | {BackendLabels[method]} | {Time(row.MeanNs)} | {Speedup(rows, "Managed", row)} | {Speedup(rows, "Simd", row)} | {Bytes(row.Allocated)} |");
                else
                    md.AppendLine($"| {value} | {BackendLabels[method]} | failed (see the log) | | | |");
            }
        }
    }

    private static void WriteRoofline(StringBuilder md, double peak, double bandwidth)
    {
        double balance = peak / bandwidth;
        md.AppendLine();
        md.AppendLine("## Roofline");
        md.AppendLine();
        md.AppendLine($"This machine does {peak:F0} GFLOP/s and moves {bandwidth:F1} GB/s: a layer needing more than {1 / balance:F3} bytes per FLOP");
        md.AppendLine($"({balance:F0} FLOP per byte) from memory is bound by memory, not arithmetic. Forward pass of one image, float32, counting the");
        md.AppendLine("input and the output once (twice with the pre-activation a fused PReLU keeps) and the weights shared by a batch of 250:");
        md.AppendLine();
        md.AppendLine("| layer | FLOP / image | bytes / image | bytes / FLOP | bound by |");
        md.AppendLine("|---|---:|---:|---:|---|");
        foreach (var layer in new[] { "conv1", "conv2" })
        {
            var s = Perf_Conv2D.ShapeOf(layer, batch: 1);
            double flops = 2.0 * s.OutputLength * s.KernelHeight * s.KernelWidth * s.InChannels;
            double bytes = 4.0 * (s.InputLength + 2 * s.OutputLength + (s.KernelLength + s.Filters) / 250.0);
            md.AppendLine(RooflineRow(layer, flops, bytes, balance));
        }
        foreach (var (layer, inputs, units) in new[] { ("dense1", 1600, 256), ("dense2", 256, 10) })
        {
            double flops = 2.0 * inputs * units;
            double bytes = 4.0 * (inputs + 2 * units + (inputs * units + units) / 250.0);
            md.AppendLine(RooflineRow(layer, flops, bytes, balance));
        }
        md.AppendLine();
        md.AppendLine("conv1 (one input channel: 9 multiply-adds per output) is memory-bound: fusing it with its PReLU and pooling, so");
        md.AppendLine("that its 26x26x32 output never travels to memory and back, is the way to speed it up, not a faster GEMM.");
    }

    private static string RooflineRow(string layer, double flops, double bytes, double balance) =>
        $"| {layer} | {flops:N0} | {bytes:N0} | {bytes / flops:F3} | {(bytes / flops > 1 / balance ? "memory" : "arithmetic")} |";

    private sealed record Row(double MeanNs, long? Allocated);

    // The successful reports of one parameter value, by benchmark method.
    private static Dictionary<string, Row> Rows(Summary summary, string parameterValue) =>
        summary.Reports
            .Where(r => r.ResultStatistics is not null && r.BenchmarkCase.Parameters.Items.Single().Value?.ToString() == parameterValue)
            .ToDictionary(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name,
                r => new Row(r.ResultStatistics!.Mean, r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase)));

    private static string Speedup(Dictionary<string, Row> rows, string against, Row row) =>
        rows.TryGetValue(against, out var baseline) ? $"{baseline.MeanNs / row.MeanNs:F2}x" : "";

    private static string Time(double ns) => ns >= 1e6 ? $"{ns / 1e6:N1} ms" : $"{ns / 1e3:N1} us";

    private static string Bytes(long? bytes) => bytes is null ? "" : bytes < 1024 ? $"{bytes} B" : $"{bytes / 1024.0:N1} KB";

    private static string CpuName() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
            : System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();

    private static string OpenClDeviceName()
    {
        try
        {
            using var backend = OpenClBackend.Create();
            return backend.Name;
        }
        catch (Exception e) when (e is ClException or InvalidOperationException or DllNotFoundException)
        {
            return $"none ({e.Message})";
        }
    }

    internal static List<string> RunProcess(string file, string arguments = "")
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var lines = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        process.WaitForExit();
        return lines;
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Prelu.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no Prelu.sln above {AppContext.BaseDirectory}");
    }

    // "peak float32 FMA avx512 (28 chains of 16 lanes), 2 threads: 350.7 GFLOP/s"
    [GeneratedRegex(@"^peak float32 FMA (?<isa>\w+) \(.*\), (?<threads>\d+) threads?: (?<gflops>[\d.]+) GFLOP/s")]
    internal static partial Regex PeakLine();
}

/// <summary>Memory bandwidth as a streaming kernel sees it: every core adding two arrays far larger than the caches.</summary>
internal static class MemoryBandwidth
{
    public static double Measure()
    {
        const int length = 16 << 20; // 64 MB per array
        int threads = Environment.ProcessorCount;
        var arrays = Enumerable.Range(0, threads).Select(_ => (A: new float[length], B: new float[length], C: new float[length])).ToList();
        arrays.ForEach(t => { t.A.AsSpan().Fill(1f); t.B.AsSpan().Fill(2f); t.C.AsSpan().Clear(); });
        double best = double.MaxValue;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                t => System.Numerics.Tensors.TensorPrimitives.Add(arrays[t].A, arrays[t].B, arrays[t].C));
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 3.0 * length * sizeof(float) * threads / best / 1e9;
    }
}

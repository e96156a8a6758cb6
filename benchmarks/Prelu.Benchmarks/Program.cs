using BenchmarkDotNet.Running;
using Prelu.Benchmarks;

// The benchmarks' own commands (`step`, `serve`, `latency`, `peak`, `run`; `--help` lists them, `step --help` its
// options: BenchmarkCommands), or, for any other first argument, BenchmarkDotNet (e.g. --filter '*Perf_Kernels*' --job
// short; no argument: its interactive choice of classes).
if (args.Length > 0 && (BenchmarkCommands.Names.Contains(args[0]) || args[0] is "--help" or "-h" or "-?"))
    return BenchmarkCommands.Create().Parse(args).Invoke();
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

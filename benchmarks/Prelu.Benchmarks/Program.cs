using BenchmarkDotNet.Running;
using Prelu.Benchmarks;

// Ways in:
//   step [--backend A[,B...]] [--models A[,B...]] [--threads N] [--steps N] [--run-length N] [--breakdown]
//        [--breakdown-steps N] [--kernels avx512|avx2|portable] [--peak-iterations N]
//                                    times training steps of the study's models (or of the app's runs --models
//                                    names: bn-prelu, resnet-relu, resnet-prelu, ...) back to back on each backend
//                                    named (native by default; ratios to the first), the figure
//                                    benchmarks/tools/compare-with-pytorch.sh sets beside PyTorch's;
//                                    --breakdown adds the time per layer (native: ms and GFLOP/s of each layer
//                                    kernel, the median of --breakdown-steps steps, 21 by default) or per kernel
//                                    (OpenCL); --kernels picks the C library's build
//                                    (the best this CPU runs by default); the probe's peak is measured first
//                                    (--peak-iterations: the probe's loop count, 100,000,000 by default);
//                                    the models take turns of --run-length consecutive steps (5 by default, the
//                                    first of each not counted; 1: step by step, all counted)
//   serve [--backend NAME] [--threads N] [--callers 1,2] [--batch 1,8] [--seconds S]
//                                    one model's Predict from 1, 2, ... threads at once: images/s and the ratio to
//                                    one caller (N kernel threads per call, 1 by default: a server's setting)
//   latency [--threads N] [--batch 1,8]
//                                    one Predict call of the study's model on the C library, and each layer
//                                    kernel's time in it (N kernel threads, 1 by default)
//   peak [iterations]                the managed peak-FMA probe, a check on benchmarks/probe/fma_peak.c
//   run [--full]                     every Perf_ class, then docs/benchmarks.md from the results (benchmarks/run)
//   anything else                     BenchmarkDotNet, e.g. --filter '*Perf_Kernels*' --job short
if (args.Length > 0 && args[0] == "step")
    return StepTiming.Run(args[1..]);
if (args.Length > 0 && args[0] == "run")
    return BenchmarkTables.Run(args[1..]);
if (args.Length > 0 && args[0] == "serve")
    return ServeTiming.Run(args[1..]);
if (args.Length > 0 && args[0] == "latency")
    return LatencyTiming.Run(args[1..]);
if (args.Length > 0 && args[0] == "peak")
    return PeakProbe.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

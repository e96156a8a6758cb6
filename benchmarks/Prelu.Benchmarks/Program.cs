using BenchmarkDotNet.Running;

// Pick benchmarks with --filter, e.g.:
//   dotnet run -c Release --project benchmarks/Prelu.Benchmarks -- --filter '*Mnist*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

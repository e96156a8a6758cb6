using Prelu.Backends;
using Prelu.Tests.Shared;

namespace Prelu.Runtime.Tests.Kernels;

/// <summary>The managed reference backend against PyTorch.</summary>
public sealed class ManagedBackendConformanceTests() : BackendConformanceTests(new ManagedBackend());

public sealed class ManagedConcurrentPredictTests() : ConcurrentPredictTests(new ManagedBackend());

public sealed class ManagedNumericalFaultTests() : NumericalFaultTests(new ManagedBackend());

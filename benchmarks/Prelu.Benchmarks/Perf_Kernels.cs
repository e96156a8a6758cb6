using BenchmarkDotNet.Attributes;
using Prelu.Backends;
using Prelu.Kernels;
using Prelu.Native.Backends;

namespace Prelu.Benchmarks;

/// <summary>
/// The study's heaviest kernels, forward and backward with per-element PReLU fused, on the managed
/// reference (the baseline of every ratio) and on the C library. Batch 16 keeps the managed runs short;
/// the shapes are the study's otherwise.
/// </summary>
[MemoryDiagnoser]
public class Perf_Kernels
{
    private const int Batch = 16;

    [Params("conv1", "conv2", "dense")]
    public string LayerName { get; set; } = "conv2";

    private readonly Dictionary<string, Layer> _layers = [];

    [GlobalSetup]
    public void Setup()
    {
        _layers["managed"] = new Layer(new ManagedBackend(), LayerName);
        _layers["native"] = new Layer(new NativeBackend(threads: 2), LayerName);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var layer in _layers.Values)
            layer.Dispose();
    }

    [Benchmark(Baseline = true)]
    public float Managed() => _layers["managed"].Step();

    [Benchmark]
    public float Native() => _layers["native"].Step();

    /// <summary>One layer's forward and backward with its buffers, on one backend.</summary>
    public sealed class Layer : IDisposable
    {
        private readonly Backend _backend;
        private readonly Action _step;
        private readonly DeviceBuffer _output;
        private readonly float[] _first = new float[1];
        private readonly List<DeviceBuffer> _buffers = [];

        public Layer(Backend backend, string name)
        {
            _backend = backend;
            DeviceBuffer Data(int length)
            {
                var random = new Random(length);
                var buffer = backend.Allocate(Enumerable.Range(0, length).Select(_ => (float)random.NextDouble() - 0.5f).ToArray());
                _buffers.Add(buffer);
                return buffer;
            }
            if (name == "dense")
            {
                var s = new DenseShape(Batch, 1600, 256);
                var act = FusedActivation.Parametric(new PReluShape(Batch, [256]));
                DeviceBuffer x = Data(s.InputLength), k = Data(s.KernelLength), b = Data(256), a = Data(256), z = Data(s.OutputLength),
                    y = Data(s.OutputLength), dy = Data(s.OutputLength), dx = Data(s.InputLength), dk = Data(s.KernelLength), db = Data(256), da = Data(256);
                _output = dk.Slice(0, 1);
                _step = () =>
                {
                    backend.DenseForward(s, act, x, k, b, a, z, y);
                    backend.DenseBackward(s, act, x, k, a, z, dy, dx, dk, db, da);
                };
            }
            else
            {
                var s = name == "conv1" ? new Conv2DShape(Batch, 28, 28, 1, 32, 3, 3) : new Conv2DShape(Batch, 13, 13, 32, 64, 3, 3);
                var act = FusedActivation.Parametric(new PReluShape(Batch, [s.OutHeight, s.OutWidth, s.Filters]));
                DeviceBuffer x = Data(s.InputLength), k = Data(s.KernelLength), b = Data(s.Filters), a = Data(act.PRelu!.AlphaLength),
                    z = Data(s.OutputLength), y = Data(s.OutputLength), dy = Data(s.OutputLength), dx = Data(s.InputLength),
                    dk = Data(s.KernelLength), db = Data(s.Filters), da = Data(act.PRelu.AlphaLength);
                bool first = name == "conv1";
                _output = dk.Slice(0, 1);
                _step = () =>
                {
                    backend.Conv2DForward(s, act, x, k, b, a, z, y);
                    backend.Conv2DBackward(s, act, x, k, a, z, dy, first ? null : dx, dk, db, da);
                };
            }
        }

        public float Step()
        {
            _step();
            _backend.Download(_output, _first); // the result, so that nothing is optimised away
            return _first[0];
        }

        public void Dispose()
        {
            foreach (var buffer in _buffers)
                buffer.Dispose();
            _backend.Dispose();
        }
    }
}

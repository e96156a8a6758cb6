using System.Diagnostics;
using System.Text;
using Prelu.Kernels;

namespace Prelu.Native.OpenCL;

// Finding kernels and launching them.
public sealed unsafe partial class OpenClBackend
{
    private static readonly ProgramKey AnyShape = new("prelu.cl", "");

    // A kernel from the program built for this key, built on first use.
    private nint Kernel(string name, ProgramKey program)
    {
        if (_kernels.TryGetValue((program, name), out var kernel))
            return kernel;
        if (!_programs.TryGetValue(program, out var built))
            built = _programs[program] = BuildProgram(_device, program);
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        int error;
        fixed (byte* n = bytes)
            kernel = _cl.CreateKernel(built, n, &error);
        ClException.Check(error, $"clCreateKernel({name})");
        return _kernels[(program, name)] = kernel;
    }

    /// <summary>
    /// How many launches a convolution's or pooling's shape makes on the shape-generic program before it gets a program
    /// of its own, its sizes as -D constants (on PoCL the generic im2col, col2im and poolings took 15-95% longer in a
    /// training step, docs/performance.md; the build costs half a second to a second of PoCL's compiler). A layer launches
    /// its shape two or three times a training step, so a model's layers pass 64 within their first 20-30 steps, a small
    /// share of any training run; a shape met fewer times (a test's, a short session of Predict calls) never pays the
    /// build (with 16, the OpenCL tests built programs for shapes they then ran a few times). The kernels' source and
    /// arithmetic are the same either way, so the same bits. 0 gives every shape its program at once: auto's few timed
    /// steps run with 0 (BackendChoice.TimeSteps), and tests.
    /// </summary>
    public int SpecialiseAfter { get; internal set; } = 64;

    /// <summary>
    /// The training steps after which every layer shape of a model has its own program: a layer launches its shape at
    /// least twice a step (forward and backward), so SpecialiseAfter / 2 + 1. A benchmark warms a model up this long, so
    /// that no timed step builds a program or runs the shape-generic one.
    /// </summary>
    public int StepsToSpecialise => SpecialiseAfter / 2 + 1;

    /// <summary>How many programs this backend has built or loaded so far (for tests).</summary>
    internal int ProgramsBuilt => _programs.Count;

    // The program of each layer shape met, keyed once: a launch builds no string, and counts in the entry it looks up.
    // Shapes that differ in the batch alone share one ShapeProgram (their program is the same), so the launches of all
    // batches count together.
    private readonly Dictionary<Conv2DShape, ShapeProgram> _convPrograms = [];
    private readonly Dictionary<Pool2DShape, ShapeProgram> _poolPrograms = [];
    private readonly Dictionary<ProgramKey, ShapeProgram> _shapePrograms = [];

    // A shape's own program and its launches so far, counted up to SpecialiseAfter + 1.
    private sealed class ShapeProgram(ProgramKey own)
    {
        public ProgramKey Own { get; } = own;
        public int Launches { get; set; }
    }

    private ProgramKey Program(in Conv2DShape s) => Tiered(
        _convPrograms.TryGetValue(s, out var shape) ? shape : _convPrograms[s] = Shape(
            $"-D S_CONV -D S_H={s.Height} -D S_W={s.Width} -D S_C={s.InChannels} -D S_F={s.Filters} -D S_KH={s.KernelHeight} " +
            $"-D S_KW={s.KernelWidth} -D S_SY={s.StrideY} -D S_SX={s.StrideX} -D S_PT={s.PadTop} -D S_PL={s.PadLeft} -D S_OH={s.OutHeight} -D S_OW={s.OutWidth}"));

    private ProgramKey Program(in Pool2DShape s) => Tiered(
        _poolPrograms.TryGetValue(s, out var shape) ? shape : _poolPrograms[s] = Shape(
            $"-D S_POOL -D S_H={s.Height} -D S_W={s.Width} -D S_C={s.Channels} -D S_KH={s.PoolHeight} -D S_KW={s.PoolWidth} " +
            $"-D S_SY={s.StrideY} -D S_SX={s.StrideX} -D S_PT={s.PadTop} -D S_PL={s.PadLeft} -D S_OH={s.OutHeight} -D S_OW={s.OutWidth}"));

    // The ShapeProgram of prelu.cl built with these defines: the one a shape of another batch already made, else a new one.
    private ShapeProgram Shape(string defines)
    {
        var key = new ProgramKey("prelu.cl", defines);
        return _shapePrograms.TryGetValue(key, out var shape) ? shape : _shapePrograms[key] = new ShapeProgram(key);
    }

    // The program this launch of a shape runs: the shape-generic one for its first SpecialiseAfter launches, its own after.
    private ProgramKey Tiered(ShapeProgram shape)
    {
        if (shape.Launches <= SpecialiseAfter)
            shape.Launches++;
        return shape.Launches > SpecialiseAfter ? shape.Own : AnyShape;
    }

    /// <summary>Sets a kernel's arguments in order and runs it over a 1-, 2- or 3-dimensional range of work-items.</summary>
    private ref struct Launch
    {
        private readonly OpenClBackend _backend;
        private readonly nint _kernel;
        private readonly string _name;
        private uint _index;

        public Launch(OpenClBackend backend, string name, ProgramKey program)
        {
            _backend = backend;
            _name = name;
            _kernel = backend.Kernel(name, program);
            _index = 0;
        }

        // The call's name is built only when it failed: a launch allocates nothing.
        private void Set(nuint size, void* value)
        {
            int code = _backend._cl.SetKernelArg(_kernel, _index++, size, value);
            if (code != 0)
                throw new ClException($"clSetKernelArg({_name}, argument {_index - 1})", code);
        }

        public Launch Int(int value)
        {
            Set(sizeof(int), &value);
            return this;
        }

        public Launch UInt(uint value)
        {
            Set(sizeof(uint), &value);
            return this;
        }

        public Launch Float(float value)
        {
            Set(sizeof(float), &value);
            return this;
        }

        /// <summary>A buffer as (cl_mem, offset); null passes a one-float dummy that the kernel does not read.</summary>
        public Launch Buffer(DeviceBuffer? buffer)
        {
            var b = B(buffer ?? _backend._dummy);
            nint memory = b.Memory;
            Set((nuint)sizeof(nint), &memory);
            return Int(b.Offset);
        }

        /// <summary>An update's guard (UPDATE_GUARD in prelu.cl): the value that holds it back while not finite, or none.</summary>
        public Launch Guard(DeviceBuffer? guard) => Buffer(guard).Int(guard is null ? 0 : 1);

        /// <summary>A buffer without an offset argument (scratch that is never a slice).</summary>
        public Launch Memory(DeviceBuffer buffer) => Memory(B(buffer).Memory);

        /// <summary>A cl_mem without an offset argument (an index table; 0 passes the dummy).</summary>
        public Launch Memory(nint memory)
        {
            if (memory == 0)
                memory = B(_backend._dummy).Memory;
            Set((nuint)sizeof(nint), &memory);
            return this;
        }

        public readonly void Run(long global) => Run(global, 1, 1);

        /// <summary>Enqueues the kernel over a global range of <paramref name="x"/> x <paramref name="y"/> x <paramref name="z"/> work items.</summary>
        /// <param name="x">Work items along the first axis.</param>
        /// <param name="y">Work items along the second axis.</param>
        /// <param name="z">Work items along the third axis.</param>
        /// <param name="localY">The work-group's size along the second axis (0: the driver chooses).</param>
        /// <param name="localX">With <paramref name="localY"/>, the work-group's size (0: the driver chooses).</param>
        public readonly void Run(long x, long y, long z, int localX = 0, int localY = 0)
        {
            if (x <= 0 || y <= 0 || z <= 0)
                return;
            var size = stackalloc nuint[] { (nuint)x, (nuint)y, (nuint)z };
            var local = stackalloc nuint[] { (nuint)localX, (nuint)localY, 1 };
            uint dimensions = localX > 0 || z > 1 ? 3u : y > 1 ? 2u : 1u;
            int code = _backend.FaultInjection?.Invoke(_name) ?? 0;
            if (code == 0)
                code = _backend._cl.EnqueueNdrangeKernel(_backend._queue, _kernel, dimensions, null, size, localX > 0 ? local : null, 0, null, null);
            if (code != 0)
                throw new ClException($"clEnqueueNDRangeKernel({_name}, global size {x} x {y} x {z}, " +
                    (localX > 0 ? $"local size {localX} x {localY} x 1)" : "local size chosen by the driver)"), code);
            if (_backend.KernelTimes is { } times)
            {
                long start = Stopwatch.GetTimestamp();
                _backend.Synchronize();
                times[_name] = times.GetValueOrDefault(_name) + Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }
    }

    private Launch Run(string name) => new(this, name, AnyShape);

    private Launch Run(string name, ProgramKey program) => new(this, name, program);

    /// <summary>
    /// A test seam for device faults: given a kernel's name, the CL error its launch should fail with
    /// (0: launch it). Tests make a device fail mid-run to check that the fault is reported and nothing is lost.
    /// </summary>
    internal Func<string, int>? FaultInjection { get; set; }

    /// <summary>
    /// When set, every launch waits for its kernel and adds the seconds it took under the kernel's name:
    /// a breakdown of a step for benchmarks (it serialises host and device, so the step itself is slower).
    /// </summary>
    public Dictionary<string, double>? KernelTimes { get; set; }
}

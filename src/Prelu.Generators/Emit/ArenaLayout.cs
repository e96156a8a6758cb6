using System.Collections.Generic;
using System.Linq;
using Prelu.Generators.Model;

namespace Prelu.Generators.Emit;

/// <summary>
/// Where every activation buffer lives in the one activation arena, per sample of the batch: a buffer
/// of n floats per sample at per-sample offset o occupies [o * maxBatch, o * maxBatch + n * batch).
/// Offsets are multiples of 16 floats, so every buffer starts 64-byte aligned. Also decides which of
/// the two ping-pong gradient buffers receives each step's input gradient in backward.
/// </summary>
internal sealed class ArenaLayout
{
    private const int Alignment = 16;
    private readonly Dictionary<string, (int Offset, int Length)> _buffers = new();

    public ArenaLayout(ModelPlan plan)
    {
        int offset = 0;
        void Add(string name, int length)
        {
            _buffers[name] = (offset, length);
            offset += (length + Alignment - 1) / Alignment * Alignment;
        }

        foreach (var step in plan.Steps)
        {
            if (step.KeepsPreActivation)
                Add(step.Field + "Z", step.OutputLength);
            if (step.Kind == StepKind.Dropout)
                Add(step.Field + "Mask", step.OutputLength);
            if (step.Kind != StepKind.Flatten)
                Add(step.Field + "Y", step.OutputLength);
        }
        int largest = plan.Steps.Max(s => System.Math.Max(s.InputLength, s.OutputLength));
        Add("GradA", largest);
        Add("GradB", largest);
        Add("Probabilities", plan.Classes);
        Add("LogitsGrad", plan.Classes);
        FloatsPerSample = offset;

        // Backward, from the last step to the first trainable one: each step's dL/d(input) goes to the
        // gradient buffer its dL/d(output) is not in; dropout and flatten work in place.
        string current = "LogitsGrad", outputGrad = "LogitsGrad";
        for (int i = plan.Steps.Count - 1; i >= 0; i--)
        {
            var step = plan.Steps[i];
            OutputGradOf[step.Field] = outputGrad;
            if (step.FirstTrainable)
                break;
            string target = step.Kind is StepKind.Dropout or StepKind.Flatten ? current : current == "GradA" ? "GradB" : "GradA";
            InputGradSource[step.Field] = target;
            current = target;
            outputGrad = step.Field + "InputGrad";
        }
    }

    public int FloatsPerSample { get; }

    /// <summary>The named buffers (Field + "Y", "Z", "Mask"; "GradA", ...) with their per-sample offset and length.</summary>
    public IReadOnlyDictionary<string, (int Offset, int Length)> Buffers => _buffers;

    /// <summary>For each step whose input gradient is needed: the buffer ("GradA", "GradB" or "LogitsGrad") that holds it.</summary>
    public Dictionary<string, string> InputGradSource { get; } = new();

    /// <summary>For each step that backward visits: the Plan field that holds its dL/d(output) ("LogitsGrad" for the last).</summary>
    public Dictionary<string, string> OutputGradOf { get; } = new();
}

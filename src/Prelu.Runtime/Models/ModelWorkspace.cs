namespace Prelu;

/// <summary>
/// The buffers one pass through a model writes: its activation arena and the shapes and views of each batch size. A
/// model has one for training (<see cref="CompiledModel.ComputeGradients"/> and everything a fit runs) and makes one
/// for each <see cref="CompiledModel.Predict(ReadOnlySpan{float}, Span{float})"/> running at the same time, so that
/// concurrent predictions share the weights and nothing else. The generated code derives it.
/// </summary>
public abstract class ModelWorkspace : IDisposable
{
    /// <summary>Frees the workspace's buffers.</summary>
    public abstract void Dispose();
}

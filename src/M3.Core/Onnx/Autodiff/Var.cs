namespace M3.Core.Onnx.Autodiff;

/// <summary>
/// A value in a differentiable graph: the graph value, and whether a gradient must flow back to it (it depends on a
/// trained parameter). Compared by reference: each op's output is its own <see cref="Var"/>.
/// </summary>
internal sealed class Var(GraphValue value, bool requiresGrad)
{
    public GraphValue Value { get; } = value;
    public bool RequiresGrad { get; } = requiresGrad;
    public Dim[] Shape => Value.Shape;
    public override string ToString() => Value + (RequiresGrad ? " (grad)" : "");
}

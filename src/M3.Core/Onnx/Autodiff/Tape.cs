namespace M3.Core.Onnx.Autodiff;

/// <summary>
/// Reverse-mode differentiation of graphs built with <see cref="GraphBuilder"/>: each op (Tape.*.cs) adds its forward
/// node and records its vector-Jacobian product, which <see cref="Backward"/> writes as ordinary ONNX ops, last op
/// first, so forward and backward run in one ONNX Runtime graph on its own kernels. Ops whose inputs need no gradient
/// record nothing, so frozen parts of a model cost no backward nodes.
/// </summary>
internal sealed partial class Tape(GraphBuilder g)
{
    private readonly List<(Var Output, Action<GraphValue> Backward)> _ops = [];
    private readonly Dictionary<Var, GraphValue> _grads = [];

    public GraphBuilder Graph => g;

    /// <summary>A value no gradient flows to (ids, masks, frozen weights).</summary>
    public static Var Constant(GraphValue value) => new(value, false);

    /// <summary>A value whose gradient is wanted (a trained parameter).</summary>
    public static Var Variable(GraphValue value) => new(value, true);

    /// <summary>
    /// Writes the backward pass: <paramref name="seeds"/> are the upstream gradients of outputs (same shapes); afterwards
    /// <see cref="GradientOf"/> gives d(Σ seed·output)/d value for every value that requires a gradient and is reached.
    /// </summary>
    public void Backward(params (Var Output, GraphValue Gradient)[] seeds)
    {
        foreach (var (output, gradient) in seeds) Accumulate(output, () => gradient);
        for (int i = _ops.Count - 1; i >= 0; i--)
            if (_grads.TryGetValue(_ops[i].Output, out var dy)) _ops[i].Backward(dy);
    }

    /// <summary>The accumulated gradient of <paramref name="x"/>, or null when no seeded output depends on it.</summary>
    public GraphValue? GradientOf(Var x) => _grads.GetValueOrDefault(x);

    private Var Record(GraphValue y, Var[] inputs, Action<GraphValue> backward)
    {
        bool requires = inputs.Any(i => i.RequiresGrad);
        var v = new Var(y, requires);
        if (requires) _ops.Add((v, backward));
        return v;
    }

    /// <summary>Adds a gradient contribution; the term is only built when <paramref name="x"/> needs it.</summary>
    private void Accumulate(Var x, Func<GraphValue> gradient)
    {
        if (!x.RequiresGrad) return;
        var dx = gradient();
        _grads[x] = _grads.TryGetValue(x, out var sum) ? g.Add(sum, dx) : dx;
    }

    /// <summary>Sums a broadcast gradient back to the shape of the input it came from (numpy broadcasting rules).</summary>
    private GraphValue ReduceTo(GraphValue grad, Dim[] target)
    {
        int extra = grad.Rank - target.Length;
        if (extra > 0) grad = g.ReduceSum(grad, [.. Enumerable.Range(0, extra).Select(i => (long)i)], keepDims: false);
        var broadcastAxes = Enumerable.Range(0, target.Length)
            .Where(i => target[i] is { IsFixed: true, Value: 1 } && grad.Shape[i] is not { IsFixed: true, Value: 1 })
            .Select(i => (long)i).ToArray();
        return broadcastAxes.Length > 0 ? g.ReduceSum(grad, broadcastAxes, keepDims: true) : grad;
    }

    private GraphValue Const(double value, GraphValue like) => g.Scalar(value, like.Type);
}

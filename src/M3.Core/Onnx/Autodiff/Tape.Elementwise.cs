namespace M3.Core.Onnx.Autodiff;

// Broadcasting arithmetic: each input's gradient is summed back over the axes it was broadcast along.
internal sealed partial class Tape
{
    public Var Add(Var a, Var b) => AddLike(g.Add(a.Value, b.Value), a, b);

    /// <summary>a + b as ONNX Sum, which ONNX Runtime does not fuse with a following LayerNormalization (see M3Graph's Residual).</summary>
    public Var Sum(Var a, Var b) => AddLike(g.Sum(a.Value, b.Value), a, b);

    private Var AddLike(GraphValue y, Var a, Var b) => Record(y, [a, b], dy =>
    {
        Accumulate(a, () => ReduceTo(dy, a.Shape));
        Accumulate(b, () => ReduceTo(dy, b.Shape));
    });

    public Var Sub(Var a, Var b) => Record(g.Sub(a.Value, b.Value), [a, b], dy =>
    {
        Accumulate(a, () => ReduceTo(dy, a.Shape));
        Accumulate(b, () => ReduceTo(g.Neg(dy), b.Shape));
    });

    public Var Mul(Var a, Var b) => Record(g.Mul(a.Value, b.Value), [a, b], dy =>
    {
        Accumulate(a, () => ReduceTo(g.Mul(dy, b.Value), a.Shape));
        Accumulate(b, () => ReduceTo(g.Mul(dy, a.Value), b.Shape));
    });

    public Var Div(Var a, Var b)
    {
        var y = g.Div(a.Value, b.Value);
        return Record(y, [a, b], dy =>
        {
            Accumulate(a, () => ReduceTo(g.Div(dy, b.Value), a.Shape));
            // d(a/b)/db = −a/b² = −y/b
            Accumulate(b, () => ReduceTo(g.Neg(g.Div(g.Mul(dy, y), b.Value)), b.Shape));
        });
    }

    /// <summary>x times a constant scalar.</summary>
    public Var Scale(Var x, double factor) => Mul(x, Constant(Const(factor, x.Value)));
}

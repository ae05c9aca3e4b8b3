namespace M3.Core.Onnx.Autodiff;

// Pointwise nonlinearities.
internal sealed partial class Tape
{
    /// <summary>
    /// Exact GELU, x·½·(1 + erf(x/√2)), written as M3Graph writes it (ONNX Runtime fuses the forward pattern into its Gelu
    /// kernel); dx = dy·(Φ(x) + x·φ(x)).
    /// </summary>
    public Var Gelu(Var x)
    {
        var v = x.Value;
        var y = g.Mul(g.Mul(v, g.Add(g.Erf(g.Div(v, Const(Math.Sqrt(2), v))), Const(1, v))), Const(0.5, v));
        return Record(y, [x], dy => Accumulate(x, () =>
        {
            var cdf = g.Mul(g.Add(g.Erf(g.Mul(v, Const(1 / Math.Sqrt(2), v))), Const(1, v)), Const(0.5, v));
            var pdf = g.Mul(g.Exp(g.Mul(g.Mul(v, v), Const(-0.5, v))), Const(1 / Math.Sqrt(2 * Math.PI), v));
            return g.Mul(dy, g.Add(cdf, g.Mul(v, pdf)));
        }));
    }

    /// <summary>max(x, 0); the gradient at 0 is 0, as PyTorch's.</summary>
    public Var Relu(Var x) => Record(g.Relu(x.Value), [x], dy => Accumulate(x, () =>
        g.Where(g.Greater(x.Value, Const(0, x.Value)), dy, Const(0, x.Value))));
}

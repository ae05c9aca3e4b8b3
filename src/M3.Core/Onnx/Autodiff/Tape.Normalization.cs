namespace M3.Core.Onnx.Autodiff;

// Softmax, LayerNorm and L2 normalization over the last axis.
internal sealed partial class Tape
{
    /// <summary>Softmax over the last axis; dx = y ⊙ (dy − Σ dy⊙y).</summary>
    public Var Softmax(Var x)
    {
        var y = g.Softmax(x.Value, -1);
        return Record(y, [x], dy => Accumulate(x, () => g.Mul(y, g.Sub(dy, SumLast(g.Mul(dy, y))))));
    }

    /// <summary>
    /// LayerNormalization over the last axis. The backward pass is written out (ONNX Runtime's LayerNormalizationGrad is a
    /// training-only kernel) and recomputes the normalized input from x rather than keeping the forward's statistics:
    /// dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂⊙x̂)) with dx̂ = dy⊙γ; dγ = Σ dy⊙x̂; dβ = Σ dy.
    /// </summary>
    public Var LayerNorm(Var x, Var scale, Var bias, double epsilon) =>
        Record(g.LayerNorm(x.Value, scale.Value, bias.Value, epsilon), [x, scale, bias], dy =>
        {
            var centered = g.Sub(x.Value, g.ReduceMeanLastAxis(x.Value));
            var rstd = g.Div(Const(1, x.Value), g.Sqrt(g.Add(g.ReduceMeanLastAxis(g.Mul(centered, centered)), Const(epsilon, x.Value))));
            var normalized = g.Mul(centered, rstd);
            Accumulate(x, () =>
            {
                var dn = g.Mul(dy, scale.Value);
                var inner = g.Sub(g.Sub(dn, g.ReduceMeanLastAxis(dn)), g.Mul(normalized, g.ReduceMeanLastAxis(g.Mul(dn, normalized))));
                return g.Mul(inner, rstd);
            });
            Accumulate(scale, () => ReduceTo(g.Mul(dy, normalized), scale.Shape));
            Accumulate(bias, () => ReduceTo(dy, bias.Shape));
        });

    /// <summary>
    /// torch.nn.functional.normalize over the last axis: y = x / max(‖x‖, 1e-12);
    /// dx = (dy − y·Σ y⊙dy·[‖x‖ > 1e-12]) / max(‖x‖, 1e-12).
    /// </summary>
    public Var Normalize(Var x)
    {
        const double floor = 1e-12;
        var norm = g.ReduceL2LastAxis(x.Value);
        var denominator = g.Max(norm, Const(floor, x.Value));
        var y = g.Div(x.Value, denominator);
        return Record(y, [x], dy => Accumulate(x, () =>
        {
            var above = g.Cast(g.Greater(norm, Const(floor, x.Value)), x.Value.Type);
            var radial = g.Mul(y, g.Mul(SumLast(g.Mul(y, dy)), above));
            return g.Div(g.Sub(dy, radial), denominator);
        }));
    }

    private GraphValue SumLast(GraphValue x) => g.ReduceSum(x, [x.Rank - 1], keepDims: true);
}

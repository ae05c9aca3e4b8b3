namespace M3.Core.Onnx.Autodiff;

// Matrix products.
internal sealed partial class Tape
{
    /// <summary>Batched a·b over equal-rank operands: da = dy·bᵀ, db = aᵀ·dy (transposes of the last two axes).</summary>
    public Var MatMul(Var a, Var b)
    {
        if (a.Value.Rank != b.Value.Rank) throw new ArgumentException($"Tape.MatMul: ranks differ ({a}, {b})");
        return Record(g.MatMul(a.Value, b.Value), [a, b], dy =>
        {
            Accumulate(a, () => g.MatMul(dy, SwapLast(b.Value)));
            Accumulate(b, () => g.MatMul(SwapLast(a.Value), dy));
        });
    }

    /// <summary>
    /// PyTorch's Linear on rows: x [n, in] · Wᵀ + bias with W stored [out, in] as in the checkpoint, so parameter buffers
    /// bind to the graph without a transposed copy, and dW = dyᵀ·x comes out in the same [out, in] layout.
    /// </summary>
    public Var Linear(Var x, Var weight, Var bias) => Record(g.Gemm(x.Value, weight.Value, bias.Value, transB: true), [x, weight, bias], dy =>
    {
        Accumulate(x, () => g.Gemm(dy, weight.Value));
        Accumulate(weight, () => g.Gemm(dy, x.Value, transA: true));
        Accumulate(bias, () => g.ReduceSum(dy, [0], keepDims: false));
    });

    private GraphValue SwapLast(GraphValue x)
    {
        var perm = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        return g.Transpose(x, perm);
    }
}

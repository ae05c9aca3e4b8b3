using M3.Core.Onnx.Autodiff;

namespace M3.Core.Tests.Onnx.Autodiff;

/// <summary>Every differentiable op's backward pass against central finite differences (float64 where ONNX Runtime's CPU kernels have it).</summary>
public sealed class TapeTests
{
    [Fact] public void Add_broadcasts_a_bias() => GradCheck.Run((t, x) => t.Add(x[0], x[1]), [[2, 3], [3]]);
    [Fact] public void Sum_broadcasts_a_row() => GradCheck.Run((t, x) => t.Sum(x[0], x[1]), [[2, 3], [1, 3]]);
    [Fact] public void Sub_broadcasts_a_column() => GradCheck.Run((t, x) => t.Sub(x[0], x[1]), [[2, 3], [2, 1]]);
    [Fact] public void Mul_broadcasts_across_ranks() => GradCheck.Run((t, x) => t.Mul(x[0], x[1]), [[2, 3, 4], [1, 4]]);
    [Fact]
    public void Div_by_values_away_from_zero() =>
        GradCheck.Run((t, x) => t.Div(x[0], x[1]), [[2, 3], [3]], values: [[.. Random(6, 1)], [1.5, -0.7, 2.2]]);
    [Fact] public void Scale_by_a_constant() => GradCheck.Run((t, x) => t.Scale(x[0], -0.37), [[2, 3]]);
    [Fact] public void MatMul_batched_four_dimensional() => GradCheck.Run((t, x) => t.MatMul(x[0], x[1]), [[2, 2, 3, 4], [2, 2, 4, 5]]);
    [Fact] public void Linear_with_torch_weight_layout() => GradCheck.Run((t, x) => t.Linear(x[0], x[1], x[2]), [[4, 3], [5, 3], [5]]);
    [Fact] public void Softmax_last_axis() => GradCheck.Run((t, x) => t.Softmax(x[0]), [[2, 3, 5]]);
    [Fact] public void LayerNorm_last_axis() => GradCheck.Run((t, x) => t.LayerNorm(x[0], x[1], x[2], 1e-5), [[3, 6], [6], [6]]);
    [Fact] public void Normalize_last_axis() => GradCheck.Run((t, x) => t.Normalize(x[0]), [[3, 4]]);

    // ONNX Runtime's Erf kernel is float32 only.
    [Fact] public void Gelu_exact_in_float32() => GradCheck.Run((t, x) => t.Gelu(x[0]), [[3, 5]], float64: false, values: [[.. Random(15, 3).Select(v => 3 * v)]]);

    [Fact]
    public void Relu_away_from_zero() =>
        GradCheck.Run((t, x) => t.Relu(x[0]), [[2, 4]], values: [[0.3, -0.4, 0.8, -0.1, -0.9, 0.2, 0.6, -0.5]]);

    [Fact]
    public void Reshape_then_transpose() => GradCheck.Run((t, x) =>
        t.Transpose(t.Reshape(x[0], t.Graph.Int64s(2, 3, 2), 2, 3, 2), 2, 0, 1), [[6, 2]]);

    [Fact] public void Slice_to_the_end() => GradCheck.Run((t, x) => t.Slice(x[0], 1, 1), [[2, 4, 3]]);
    [Fact] public void Slice_inside() => GradCheck.Run((t, x) => t.Slice(x[0], 1, 1, 3), [[2, 4, 3]]);
    [Fact] public void Squeeze_an_axis_of_one() => GradCheck.Run((t, x) => t.Squeeze(t.Slice(x[0], 1, 0, 1), 1), [[2, 3, 4]]);

    // Packed rows to a padded layout: slot 1 is padding (index 3 = the zero row); every row lands in one slot.
    [Fact]
    public void Regather_to_padded_slots() => GradCheck.Run((t, x) =>
        t.Regather(x[0], t.Graph.Int64s(0, 3, 2, 1), true, t.Graph.Int64s(0, 3, 2), false), [[3, 2]]);

    // Padded slots back to packed rows: slots 1 and 2 are dropped, so their gradient is the zero row (index 2).
    [Fact]
    public void Regather_dropping_rows() => GradCheck.Run((t, x) =>
        t.Regather(x[0], t.Graph.Int64s(0, 3), false, t.Graph.Int64s(0, 2, 2, 1), true), [[4, 2]]);

    [Fact]
    public void Dropout_with_a_fixed_mask() => GradCheck.Run((t, x) =>
        t.Dropout(x[0], t.Graph.Initializer("keep", M3.Core.Onnx.Proto.TensorProto.Types.DataType.Bool, [1, 0, 1, 1, 0, 1], 2, 3), 1 / 0.9), [[2, 3]]);

    [Fact]
    public void A_value_used_twice_accumulates_both_gradients() =>
        GradCheck.Run((t, x) => t.Mul(t.Softmax(x[0]), t.Add(x[0], x[1])), [[2, 3], [3]]);

    private static IEnumerable<double> Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.NextDouble() * 2 - 1);
    }
}

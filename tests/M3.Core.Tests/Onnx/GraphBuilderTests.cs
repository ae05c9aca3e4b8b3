using M3.Core.Onnx;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Tests.Onnx;

public class GraphBuilderTests
{
    [Fact]
    public void Elementwise_ops_broadcast_like_numpy()
    {
        using var g = new GraphBuilder();
        var x = g.Input("x", DataType.Int64, "batch", "seq");
        var sum = g.Add(x, g.Int64s(1));
        Assert.Equal(["batch", "seq"], sum.Shape.Select(d => d.ToString()));
        var f = g.Input("f", DataType.Float, "batch", 1, 1, "seq");
        var w = g.Input("w", DataType.Float, "batch", 4, "seq", "seq");
        Assert.Equal(["batch", "4", "seq", "seq"], g.Add(w, f).Shape.Select(d => d.ToString()));
    }

    [Fact]
    public void Mismatched_shapes_fail_while_building_naming_the_op()
    {
        using var g = new GraphBuilder();
        var a = g.Input("a", DataType.Float, "batch", 8);
        var b = g.Input("b", DataType.Float, 4, 16);
        var e = Assert.Throws<ArgumentException>(() => g.MatMul(a, b));
        Assert.Contains("MatMul", e.Message);
    }
}

using M3.Core.Onnx;
using Microsoft.ML.OnnxRuntime;
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

    [Fact]
    public void If_runs_the_branch_its_condition_picks_and_branches_read_outer_values()
    {
        using var run = ControlFlowGraph.Build("flag", g =>
        {
            var x = g.Input("x", DataType.Float, "n");
            var flag = g.Input("flag", DataType.Int64);
            var doubled = g.Add(x, x); // computed outside, read by the then branch
            return g.If(g.Equal(flag, g.Int64Scalar(1)), ["n"], () => doubled, () => g.Mul(x, x));
        });
        Assert.Equal([2f, 4f, 6f], run.Run([1f, 2f, 3f], 1));
        Assert.Equal([1f, 4f, 9f], run.Run([1f, 2f, 3f], 0));
    }

    [Fact]
    public void Loop_carries_values_whose_size_changes_and_its_body_reads_outer_values()
    {
        using var run = ControlFlowGraph.Build("count", g =>
        {
            var x = g.Input("x", DataType.Float, "n");
            var count = g.Input("count", DataType.Int64);
            var empty = g.Zeros(g.Int64s(0), 0);
            // Appends x[i:i+2] · (i + 1) in iteration i: the carried value grows by two each time.
            return g.Loop(count, [empty], [["m"]], (i, carried) =>
            {
                var start = g.Unsqueeze(i, 0);
                var part = g.Slice(x, 0, start, g.Add(start, g.Int64s(2)), 2);
                return [g.Concat(0, carried[0], g.Mul(part, g.Cast(g.Add(start, g.Int64s(1)), DataType.Float)))];
            })[0];
        });
        Assert.Equal([1f, 2f, 4f, 6f, 9f, 12f], run.Run([1f, 2f, 3f, 4f], 3));
        Assert.Empty(run.Run([1f, 2f, 3f, 4f], 0));
    }

    /// <summary>A saved and loaded graph of a float vector <c>x</c> and an int64 scalar, with one float output <c>y</c>.</summary>
    private sealed class ControlFlowGraph : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly string _scalar;

        private ControlFlowGraph(InferenceSession session, string scalar) => (_session, _scalar) = (session, scalar);

        public static ControlFlowGraph Build(string scalar, Func<GraphBuilder, GraphValue> build)
        {
            var path = Path.Combine(Path.GetTempPath(), $"m3-control-flow-{Guid.NewGuid():N}.onnx");
            try
            {
                using (var g = new GraphBuilder())
                {
                    g.Output(build(g), "y");
                    g.Save(path);
                }
                return new ControlFlowGraph(new InferenceSession(path), scalar);
            }
            finally { File.Delete(path); }
        }

        public float[] Run(float[] x, long scalar)
        {
            using var xs = OrtValue.CreateTensorValueFromMemory(x, [x.Length]);
            using var s = OrtValue.CreateTensorValueFromMemory(new[] { scalar }, []);
            using var outputs = _session.Run(new RunOptions(), ["x", _scalar], [xs, s], ["y"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }

        public void Dispose() => _session.Dispose();
    }

    [Fact]
    public void Loop_body_of_another_rank_fails_while_building()
    {
        using var g = new GraphBuilder();
        var x = g.Input("x", DataType.Float, "n");
        var e = Assert.Throws<ArgumentException>(() => g.Loop(g.Int64Scalar(2), [x], [["n"]], (_, carried) => [g.Unsqueeze(carried[0], 0)]));
        Assert.Contains("Loop", e.Message);
    }

    [Fact]
    public void Branches_of_different_rank_fail_while_building()
    {
        using var g = new GraphBuilder();
        var x = g.Input("x", DataType.Float, "n", 2);
        var cond = g.Equal(g.Int64Scalar(1), g.Int64Scalar(1));
        var e = Assert.Throws<ArgumentException>(() => g.If(cond, ["n", 2], () => g.Add(x, x), () => g.Unsqueeze(x, 0)));
        Assert.Contains("else_branch", e.Message);
    }
}

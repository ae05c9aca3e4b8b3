using M3.Core.Onnx;
using M3.Core.Onnx.Autodiff;
using Microsoft.ML.OnnxRuntime;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Tests.Onnx;

/// <summary>A forward+backward graph cut in two gives the whole graph's gradient, and the forward nodes run only in the first part.</summary>
public sealed class GraphSplitTests
{
    [Fact]
    public void Forward_then_backward_gives_the_whole_graphs_gradient()
    {
        var g = new GraphBuilder();
        var tape = new Tape(g);
        var x = Tape.Constant(g.Input("x", DataType.Float, "n", 3));
        var w = Tape.Variable(g.Input("w", DataType.Float, 4, 3));
        var b = Tape.Variable(g.Input("b", DataType.Float, 4));
        var y = tape.Softmax(tape.Gelu(tape.Linear(x, w, b)));
        g.Output(y.Value, "y");
        var dy = g.Input("dy", DataType.Float, "n", 4);
        tape.Backward((y, dy));
        g.Output(tape.GradientOf(w)!, "dw");
        g.Output(tape.GradientOf(b)!, "db");
        var whole = g.ToModelBytes();

        var split = GraphSplit.Split(whole, ["y"], new HashSet<string> { "dy" });
        Assert.NotEmpty(split.Saved);
        var forwardOps = M3.Core.Onnx.Proto.ModelProto.Parser.ParseFrom(split.Forward).Graph.Node.Select(n => n.OpType).ToList();
        var backwardOps = M3.Core.Onnx.Proto.ModelProto.Parser.ParseFrom(split.Backward).Graph.Node.Select(n => n.OpType).ToList();
        Assert.Contains("Gemm", forwardOps);
        Assert.Contains("Softmax", forwardOps);
        Assert.DoesNotContain("Softmax", backwardOps);

        float[] xs = [0.1f, -0.5f, 0.9f, 1.2f, 0.3f, -0.7f], ws = [.. Enumerable.Range(0, 12).Select(i => MathF.Sin(i))], bs = [0.1f, 0.2f, -0.3f, 0.05f];
        float[] dys = [.. Enumerable.Range(0, 8).Select(i => MathF.Cos(3 * i))];
        using var xv = OrtValue.CreateTensorValueFromMemory(xs, [2, 3]);
        using var wv = OrtValue.CreateTensorValueFromMemory(ws, [4, 3]);
        using var bv = OrtValue.CreateTensorValueFromMemory(bs, [4]);
        using var dyv = OrtValue.CreateTensorValueFromMemory(dys, [2, 4]);
        using var run = new RunOptions();

        using var wholeSession = new InferenceSession(whole);
        using var expected = wholeSession.Run(run, ["x", "w", "b", "dy"], [xv, wv, bv, dyv], ["y", "dw", "db"]);

        using var forward = new InferenceSession(split.Forward);
        using var backward = new InferenceSession(split.Backward);
        using var first = forward.Run(run, ["x", "w", "b"], [xv, wv, bv], ["y", .. split.Saved]);
        using var second = backward.Run(run, ["x", "w", "b", "dy", .. split.Saved], [xv, wv, bv, dyv, .. first.Skip(1)], ["dw", "db"]);

        Assert.Equal(expected[0].GetTensorDataAsSpan<float>().ToArray(), first[0].GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal(expected[1].GetTensorDataAsSpan<float>().ToArray(), second[0].GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal(expected[2].GetTensorDataAsSpan<float>().ToArray(), second[1].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void A_forward_output_that_needs_a_later_input_is_refused()
    {
        var g = new GraphBuilder();
        var x = g.Input("x", DataType.Float, 2);
        var later = g.Input("later", DataType.Float, 2);
        g.Output(g.Add(x, later), "y");
        var e = Assert.Throws<ArgumentException>(() => GraphSplit.Split(g.ToModelBytes(), ["y"], new HashSet<string> { "later" }));
        Assert.Contains("later", e.Message);
    }
}

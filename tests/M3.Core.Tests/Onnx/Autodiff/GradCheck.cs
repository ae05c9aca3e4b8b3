using M3.Core.Onnx;
using M3.Core.Onnx.Autodiff;
using Microsoft.ML.OnnxRuntime;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Tests.Onnx.Autodiff;

/// <summary>
/// Checks an op's backward pass against central finite differences: the op runs on small random inputs with a random
/// upstream gradient r; the analytic d(Σ r⊙y)/dx from the tape's graph must match (Σ r⊙(y(x+ε) − y(x−ε)))/2ε per element.
/// </summary>
internal static class GradCheck
{
    /// <param name="inputs">Input shapes; each input is differentiated.</param>
    /// <param name="values">Input values (random in [−1, 1] when null).</param>
    public static void Run(Func<Tape, Var[], Var> op, int[][] inputs, bool float64 = true, double[][]? values = null, int seed = 1)
    {
        var type = float64 ? DataType.Double : DataType.Float;
        var g = new GraphBuilder();
        var tape = new Tape(g);
        var xs = inputs.Select((s, i) => Tape.Variable(g.Input("x" + i, type, [.. s.Select(d => (Dim)d)]))).ToArray();
        var y = op(tape, xs);
        g.Output(y.Value, "y");
        var dy = g.Input("dy", type, y.Shape);
        tape.Backward((y, dy));
        for (int i = 0; i < xs.Length; i++)
            g.Output(tape.GradientOf(xs[i]) ?? throw new InvalidOperationException($"no gradient reaches input {i}"), "g" + i);
        using var session = new InferenceSession(g.ToModelBytes());

        var random = new Random(seed);
        var x = values ?? [.. inputs.Select(s => Enumerable.Range(0, s.Aggregate(1, (a, b) => a * b)).Select(_ => random.NextDouble() * 2 - 1).ToArray())];
        var yShape = y.Shape.Select(d => d.Value).ToArray();
        var r = Enumerable.Range(0, (int)yShape.Aggregate(1L, (a, b) => a * b)).Select(_ => random.NextDouble() * 2 - 1).ToArray();

        var analytic = Evaluate(session, inputs, x, r, yShape, float64, gradients: inputs.Length);
        double eps = float64 ? 1e-6 : 1e-2, tolerance = float64 ? 1e-6 : 2e-3;
        for (int i = 0; i < inputs.Length; i++)
        {
            double scale = analytic[i].Max(Math.Abs) + 1e-3;
            for (int j = 0; j < x[i].Length; j++)
            {
                double saved = x[i][j];
                x[i][j] = saved + eps;
                double plus = Dot(r, Evaluate(session, inputs, x, r, yShape, float64, 0)[0]);
                x[i][j] = saved - eps;
                double minus = Dot(r, Evaluate(session, inputs, x, r, yShape, float64, 0)[0]);
                x[i][j] = saved;
                double numeric = (plus - minus) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[i][j]) <= tolerance * scale,
                    $"input {i} element {j}: analytic {analytic[i][j]:G9}, finite differences {numeric:G9}");
            }
        }
    }

    /// <summary>Runs the graph: y when <paramref name="gradients"/> is 0, else the gradients of the first inputs.</summary>
    private static double[][] Evaluate(InferenceSession session, int[][] shapes, double[][] x, double[] r, long[] yShape, bool float64, int gradients)
    {
        var names = new List<string>();
        var values = new List<OrtValue>();
        for (int i = 0; i < shapes.Length; i++)
        {
            names.Add("x" + i);
            values.Add(Tensor(x[i], [.. shapes[i].Select(d => (long)d)], float64));
        }
        names.Add("dy");
        values.Add(Tensor(r, yShape, float64));
        string[] outputs = gradients == 0 ? ["y"] : [.. Enumerable.Range(0, gradients).Select(i => "g" + i)];
        try
        {
            using var results = session.Run(new RunOptions(), names, values, outputs);
            return [.. results.Select(v => float64 ? v.GetTensorDataAsSpan<double>().ToArray() : v.GetTensorDataAsSpan<float>().ToArray().Select(f => (double)f).ToArray())];
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private static OrtValue Tensor(double[] data, long[] shape, bool float64) =>
        float64 ? OrtValue.CreateTensorValueFromMemory((double[])data.Clone(), shape)
                : OrtValue.CreateTensorValueFromMemory(data.Select(d => (float)d).ToArray(), shape);

    private static double Dot(double[] a, double[] b) => a.Zip(b, (p, q) => p * q).Sum();
}

using M3.Core.Inference;
using M3.Core.Onnx;
using M3.Core.Onnx.Proto;
using M3.Core.Scoring;
using M3.Core.Tests.Inference;
using M3.Tests;

namespace M3.Core.Tests;

/// <summary>Every precision mode runs and stays within its fidelity bound on the tiny fixture's golden outputs.</summary>
public sealed class PrecisionTests : IDisposable
{
    private readonly string _cache = TestPaths.NewTempDir("m3precision");
    private readonly Golden _golden = Golden.Load(TestPaths.TinyM3);

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private M3Encoder Load(M3Precision precision, bool nativeOps = true) =>
        M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { Precision = precision, CacheDirectory = _cache }, nativeOps);

    /// <summary>int8 with M3Sharp's int8 attention where it runs (<see cref="NativeOps"/>), and with ONNX Runtime's float32 attention.</summary>
    public static TheoryData<bool> AttentionKinds => new() { true, false };

    [Theory]
    [InlineData(M3Precision.Fp32)]
    [InlineData(M3Precision.Int8)]
    public void Every_precision_encodes_all_three_outputs(M3Precision precision)
    {
        using var encoder = Load(precision);
        var texts = _golden.Items.Take(8).Select(i => i.Text).ToList();
        var results = encoder.Encode(texts);
        for (var i = 0; i < texts.Count; i++)
        {
            var e = results[i];
            Assert.Equal(_golden.Items[i].InputIds.Length, e.TokenCount);
            Assert.Equal(encoder.HiddenSize, e.Dense!.Length);
            Assert.Equal(1.0, Math.Sqrt(e.Dense.Sum(x => (double)x * x)), 4);
            Assert.Equal(e.TokenCount - 1, e.Colbert!.Count);
            Assert.NotNull(e.Sparse);
        }
    }

    [Theory]
    [MemberData(nameof(AttentionKinds))]
    public void Int8_dense_vectors_stay_within_cosine_0_99_of_the_reference(bool int8Attention)
    {
        using var encoder = Load(M3Precision.Int8, int8Attention);
        var results = encoder.Encode(_golden.Items.Select(i => i.Text).ToList());
        var cosines = _golden.Items.Select((item, i) => Cosine(item.Dense, results[i].Dense!)).ToList();
        Assert.True(cosines.Min() >= 0.99, $"minimum dense cosine {cosines.Min():F5} (mean {cosines.Average():F5})");
        // int8 is not fp32: some difference must show, or the graph did not change.
        Assert.True(cosines.Min() < 0.999999, "int8 matched fp32 exactly: the int8 graph is not in use");
    }

    [Theory]
    [MemberData(nameof(AttentionKinds))]
    public void Int8_pair_scores_stay_close_to_the_reference(bool int8Attention)
    {
        using var encoder = Load(M3Precision.Int8, int8Attention);
        var results = encoder.Encode(_golden.Items.Select(i => i.Text).ToList());
        foreach (var pair in _golden.Pairs)
        {
            var scores = M3Scores.All(results[pair.Query], results[pair.Passage]);
            Assert.InRange(scores.Dense - pair.Scores["dense"], -0.02, 0.02);
            Assert.InRange(scores.Colbert - pair.Scores["colbert"], -0.02, 0.02);
        }
    }

    [Fact]
    public void Int8_graph_with_int8_attention_runs_each_layer_s_attention_in_one_native_operator()
    {
        var (graph, layers) = Int8Graph(int8Attention: true);
        Assert.Equal(4 * layers, graph.Node.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == "com.microsoft"));
        var attention = graph.Node.Where(n => n.OpType == "PackedInt8Attention").ToList();
        Assert.Equal(layers, attention.Count);
        Assert.All(attention, n => Assert.Equal(NativeOps.Domain, n.Domain));
        // The packed rows and the texts' ends go in as they are: no branch, loop or float attention is left.
        Assert.DoesNotContain(graph.Node, n => n.OpType is "If" or "Loop" or "MultiHeadAttention");
        Assert.Equal(2, graph.Node.Count(n => n.OpType == "MatMul"));
    }

    [Fact]
    public void The_encoder_takes_int8_attention_exactly_where_the_native_operator_runs()
    {
        using (Load(M3Precision.Int8)) { }
        var model = Directory.GetFiles(_cache, GraphCache.ModelFileName, SearchOption.AllDirectories).Single(f => f.Contains("int8"));
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(model)).Graph;
        Assert.Equal(NativeOps.LibraryPath != null, graph.Node.Any(n => n.OpType == "PackedInt8Attention"));
    }

    [Fact]
    public void Int8_graph_without_int8_attention_runs_every_encoder_projection_through_the_int8_kernel()
    {
        var (graph, layers) = Int8Graph(int8Attention: false);
        // Per layer: Q, K and V packed into one product, the attention output, and the two feed-forward projections.
        Assert.Equal(4 * layers, graph.Node.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == "com.microsoft"));
        // Attention runs fused and unmasked (flash) in one of two branches per layer: the whole batch when it has no padding,
        // else text by text in a Loop; only the two heads remain float MatMuls.
        Assert.Equal(layers, graph.Node.Count(n => n.OpType == "If"));
        var branchNodes = graph.Node.Where(n => n.OpType == "If").SelectMany(n => n.Attribute).SelectMany(a => a.G.Node).ToList();
        var loopNodes = branchNodes.Where(n => n.OpType == "Loop").SelectMany(n => n.Attribute).SelectMany(a => a.G.Node).ToList();
        Assert.Equal(layers, branchNodes.Count(n => n.OpType == "Loop"));
        var attention = branchNodes.Concat(loopNodes).Where(n => n.OpType == "MultiHeadAttention").ToList();
        Assert.Equal(2 * layers, attention.Count);
        Assert.All(attention, n => Assert.Equal(3, n.Input.Count)); // q, k, v: no padding mask
        Assert.Equal(2, graph.Node.Concat(branchNodes).Concat(loopNodes).Count(n => n.OpType == "MatMul"));
    }

    [Fact]
    public void Int8_weights_are_per_output_channel_and_round_to_nearest()
    {
        // Two output channels of three inputs; channel 1 is all zero.
        float[] weight = [0.5f, -1.0f, 0.25f, 0f, 0f, 0f];
        var q = Int8Weights.Quantize(weight, outFeatures: 2, inFeatures: 3);
        Assert.Equal(1.0f / 127, q.Scales[0], 7);
        Assert.Equal(1f, q.Scales[1]);
        Assert.Equal([64, 0, -127, 0, 32, 0], q.Values.Select(v => (int)v)); // [in, out] layout
        for (var i = 0; i < 3; i++)
            Assert.InRange(Math.Abs(q.Dequantized(0, i) - weight[i]), 0, q.Scales[0] / 2);
    }

    [Fact]
    public void Int8_weights_refuse_a_non_finite_channel()
    {
        var e = Assert.Throws<ArgumentException>(() => Int8Weights.Quantize([1f, float.NaN], 1, 2));
        Assert.Contains("channel 0", e.Message);
    }

    private (GraphProto Graph, int Layers) Int8Graph(bool int8Attention)
    {
        var model = Path.Combine(_cache, $"int8-{int8Attention}.onnx");
        using (var checkpoint = M3.Core.Checkpoint.M3Checkpoint.Open(TestPaths.TinyM3))
            M3Graph.Build(checkpoint, model, model + ".data", M3Precision.Int8, int8Attention);
        return (ModelProto.Parser.ParseFrom(File.ReadAllBytes(model)).Graph, M3.Core.Checkpoint.M3Config.Load(TestPaths.TinyM3).NumHiddenLayers);
    }

    private static double Cosine(double[] reference, float[] v)
    {
        double dot = 0, a = 0, b = 0;
        for (var k = 0; k < v.Length; k++)
        {
            dot += reference[k] * v[k];
            a += reference[k] * reference[k];
            b += (double)v[k] * v[k];
        }
        return dot / Math.Sqrt(a * b);
    }
}

using System.Runtime.InteropServices;
using M3.Core.Checkpoint;
using M3.Core.Inference;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Onnx;

/// <summary>
/// The BGE-M3 inference graph: XLM-RoBERTa (post-LayerNorm BERT layers, exact erf GELU) plus the M3 heads,
/// built from a checkpoint's weights.
/// Inputs: <c>input_ids</c>, <c>attention_mask</c> (int64 [batch, seq]).
/// Outputs: <c>hidden</c> [batch, seq, H] (last hidden state: dense and MCLS pool it), <c>sparse</c> [batch, seq]
/// (relu(sparse_linear(h))), <c>colbert</c> [batch, seq-1, H] (normalize(colbert_linear(h[:, 1:]))).
/// </summary>
internal static class M3Graph
{
    public const string InputIds = "input_ids", AttentionMask = "attention_mask";
    public const string Hidden = "hidden", Sparse = "sparse", Colbert = "colbert";

    /// <summary>Bumped whenever the graph changes, so cached graphs of an older shape are not reused.</summary>
    public const int Version = 9;

    /// <param name="precision">
    /// <see cref="M3Precision.Int8"/> runs the encoder layers' six projections through DynamicQuantizeMatMul with int8 weights
    /// (per output channel); embeddings, layer norms and the heads stay float32.
    /// </param>
    /// <param name="int8Attention">
    /// Attention's own products in int8 too, through M3Sharp's native operator (<see cref="NativeOps"/>; the session must
    /// register it). Only with <see cref="M3Precision.Int8"/>.
    /// </param>
    public static void Build(M3Checkpoint checkpoint, string modelPath, string externalDataPath, M3Precision precision = M3Precision.Fp32,
                             bool int8Attention = false)
    {
        if (int8Attention && precision != M3Precision.Int8) throw new ArgumentException("int8 attention belongs to the int8 graph", nameof(int8Attention));
        var c = checkpoint.Config;
        using var g = new GraphBuilder(externalDataPath);
        var weights = new WeightReader(checkpoint, g, precision);

        var ids = g.Input(InputIds, DataType.Int64, "batch", "seq");
        var mask = g.Input(AttentionMask, DataType.Int64, "batch", "seq");
        var packing = new Packing(g, mask, c.HiddenSize);

        // Positions as XLM-R's create_position_ids_from_input_ids: count of real tokens so far, offset by the pad id.
        var positions = g.Add(g.Mul(g.CumSum(mask, 1), mask), g.Int64s(c.PadTokenId));
        var x = g.Add(g.Add(g.Gather(weights.Plain("embeddings.word_embeddings.weight"), packing.Pack(ids)),
                            g.Gather(weights.Plain("embeddings.position_embeddings.weight"), packing.Pack(positions))),
                      weights.FirstRow("embeddings.token_type_embeddings.weight"));
        x = g.LayerNorm(x, weights.Plain("embeddings.LayerNorm.weight"), weights.Plain("embeddings.LayerNorm.bias"), c.LayerNormEps);

        var layerOps = new LayerOps(g, weights, packing, c, int8Attention);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
            x = EncoderLayer.Build(layerOps, layer, x);

        x = packing.Unpack(x);
        g.Output(x, Hidden);

        var sparse = g.Relu(g.Linear(x, Transposed(g, "sparse_linear.weight", checkpoint.SparseLinear.Weight), Plain(g, "sparse_linear.bias", checkpoint.SparseLinear.Bias)));
        g.Output(g.Squeeze(sparse, -1), Sparse);

        var colbert = g.Linear(g.SliceFrom(x, 1, 1), Transposed(g, "colbert_linear.weight", checkpoint.ColbertLinear.Weight), Plain(g, "colbert_linear.bias", checkpoint.ColbertLinear.Bias));
        // torch.nn.functional.normalize: x / max(‖x‖, 1e-12).
        g.Output(g.Div(colbert, g.Max(g.ReduceL2LastAxis(colbert), g.Scalar(1e-12f))), Colbert);

        g.Save(modelPath, new Dictionary<string, string> { ["m3.graph_version"] = Version.ToString() });
    }

    /// <summary>The encoder layer's operations in the inference graph: packed rows, fused attention, the graph's precision.</summary>
    private sealed class LayerOps(GraphBuilder g, WeightReader w, Packing packing, M3Config c, bool int8Attention) : IEncoderLayerOps<GraphValue>
    {
        public GraphValue SelfAttention(GraphValue x, int layer)
        {
            var p = M3TensorLayout.LayerPrefix(layer);
            return packing.Attention(w.Linear(x, p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"), c.NumAttentionHeads, int8Attention);
        }

        public GraphValue Linear(GraphValue x, string name) => w.Linear(x, name);

        public GraphValue Dropout(GraphValue x, string site) => x;

        /// <summary>
        /// Written as Sum rather than Add: ONNX Runtime 1.31 fuses Add + LayerNormalization into SkipLayerNormalization, whose CPU
        /// kernel profiled 7× slower than the two ops it replaces (82 ms against 12 ms per batch of 16×20 tokens at full size);
        /// its fusion matches Add only.
        /// </summary>
        public GraphValue Residual(GraphValue sublayer, GraphValue x) => g.Sum(sublayer, x);

        public GraphValue Norm(GraphValue x, string name) => g.LayerNorm(x, w.Plain(name + ".weight"), w.Plain(name + ".bias"), c.LayerNormEps);

        public GraphValue Gelu(GraphValue x) => g.Gelu(x);
    }

    // The heads' tensors are named "weight"/"bias" in their own files; the graph names them after the head.
    private static GraphValue Plain(GraphBuilder g, string name, CheckpointTensor t) => g.Initializer(name, t.Data, t.Shape);

    private static GraphValue Transposed(GraphBuilder g, string name, CheckpointTensor t)
    {
        var result = new float[t.Data.Length];
        WeightReader.Transpose(t.Data, result, t.Shape[0], t.Shape[1]);
        return g.Initializer(name, result, t.Shape[1], t.Shape[0]);
    }

    /// <summary>Streams encoder tensors from the checkpoint into the graph one at a time through two reused buffers.</summary>
    private sealed class WeightReader(M3Checkpoint checkpoint, GraphBuilder g, M3Precision precision)
    {
        private readonly Dictionary<string, int[]> _shapes = checkpoint.EncoderTensors.ToDictionary(t => t.Name, t => t.Shape);
        private float[] _read = [];

        public GraphValue Plain(string name)
        {
            var shape = _shapes[name];
            var span = Read(name, shape);
            return g.Initializer(name, span, shape);
        }

        /// <summary>Row 0 of a table, as a [H] vector (token type 0: XLM-R has a single token type).</summary>
        public GraphValue FirstRow(string name)
        {
            var shape = _shapes[name];
            var span = Read(name, shape);
            return g.Initializer(name, span[..shape[1]], shape[1]);
        }

        /// <summary>
        /// One product for one or more encoder Linear layers that read the same input (<c>NAME.weight</c>, <c>NAME.bias</c>),
        /// their outputs side by side in order, at the graph's precision. Q, K and V share one product: one wider matrix
        /// multiply, and in int8 one dynamic quantization of the input instead of three. Per-output-channel int8 scales make
        /// the packed quantization identical to quantizing each layer alone.
        /// </summary>
        public GraphValue Linear(GraphValue x, params string[] names)
        {
            var shapes = names.Select(n => _shapes[n + ".weight"]).ToArray();
            int inF = shapes[0][1], outF = shapes.Sum(s => s[0]);
            var weight = new float[(long)outF * inF]; // torch layout [out, in], layers stacked by rows
            var bias = new float[outF];
            var row = 0;
            foreach (var (n, shape) in names.Zip(shapes))
            {
                Read(n + ".weight", shape).CopyTo(weight.AsSpan(row * inF, shape[0] * inF));
                Read(n + ".bias", _shapes[n + ".bias"]).CopyTo(bias.AsSpan(row, shape[0]));
                row += shape[0];
            }
            var name = string.Join("+", names);
            var biasValue = g.Initializer(name + ".bias", bias, outF);
            if (precision == M3Precision.Fp32)
            {
                var transposed = new float[weight.Length];
                Transpose(weight, transposed, outF, inF);
                return g.Linear(x, g.Initializer(name + ".weight", transposed, inF, outF), biasValue);
            }
            var q = Int8Weights.Quantize(weight, outF, inF);
            var weightValue = g.Initializer(name + ".weight_int8", DataType.Int8, MemoryMarshal.AsBytes(q.Values.AsSpan()), q.InFeatures, q.OutFeatures);
            var scale = g.Initializer(name + ".weight_scale", q.Scales, q.OutFeatures);
            // Symmetric quantization: zero points are 0; int8 zeros are shared by every layer of the same width.
            var zero = _zeros.TryGetValue(q.OutFeatures, out var z) ? z
                : _zeros[q.OutFeatures] = g.Initializer($"int8_zero_{q.OutFeatures}", DataType.Int8, new byte[q.OutFeatures], q.OutFeatures);
            return g.DynamicQuantizeMatMul(x, weightValue, scale, zero, biasValue);
        }

        private readonly Dictionary<int, GraphValue> _zeros = [];

        public static void Transpose(ReadOnlySpan<float> src, Span<float> dst, int rows, int cols)
        {
            // Blocked so both sides stay in cache for 1024x4096 matrices.
            const int B = 64;
            for (int r0 = 0; r0 < rows; r0 += B)
                for (int c0 = 0; c0 < cols; c0 += B)
                    for (int r = r0; r < Math.Min(r0 + B, rows); r++)
                        for (int col = c0; col < Math.Min(c0 + B, cols); col++)
                            dst[col * rows + r] = src[r * cols + col];
        }

        private Span<float> Read(string name, int[] shape)
        {
            long n = CheckpointTensor.CountElements(shape);
            Grow(ref _read, n);
            var span = _read.AsSpan(0, (int)n);
            checkpoint.ReadEncoderTensorInto(name, span);
            return span;
        }

        private static void Grow(ref float[] buffer, long n)
        {
            if (buffer.Length < n) buffer = new float[n];
        }

    }
}

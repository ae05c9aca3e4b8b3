using M3.Core.Checkpoint;
using M3.Core.Onnx;
using M3.Core.Onnx.Autodiff;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Training;

/// <summary>
/// The training graphs of BGE-M3, built with <see cref="Tape"/>. Every parameter is a graph input (bound to its
/// <see cref="TrainableTensor.Values"/>), so an optimizer step needs no rebuild. The representation graph maps
/// parameters, token ids, position ids and the additive attention mask to the representations the loss reads (dense
/// [n, H], per-token sparse weights [n, seq], ColBERT vectors [n, seq−1, H]); the gradient graph recomputes them and,
/// given the loss' gradients with respect to them, outputs every trained tensor's gradient (<c>grad:NAME</c>), or for the
/// embedding tables the gradient of the rows gathered for the flattened tokens (<c>rows:NAME</c>, [n·seq, H]).
/// Attention is op by op (MatMul, Softmax, MatMul) on the padded [n, heads, seq, seq] layout; padding keys get −1e9
/// added, so their probabilities and every gradient reaching padded positions are exactly zero.
/// </summary>
internal static class TrainingGraph
{
    public const string InputIds = "input_ids", PositionIds = "position_ids", AttentionBias = "attention_bias";
    public const string Dense = "dense", Sparse = "sparse", Colbert = "colbert";
    public const string GradPrefix = "grad:", RowsPrefix = "rows:", UpstreamPrefix = "d_";
    public const string WordEmbeddings = "embeddings.word_embeddings.weight", PositionEmbeddings = "embeddings.position_embeddings.weight";
    public const string ColbertWeight = "colbert_linear.weight", ColbertBias = "colbert_linear.bias";
    public const string SparseWeight = "sparse_linear.weight", SparseBias = "sparse_linear.bias";
    public const float MaskedScore = -1e9f;

    /// <summary>A graph input that holds a parameter; <paramref name="Trained"/> ones get gradients in the gradient graph.</summary>
    public sealed record Parameter(string Name, int[] Shape, bool Trained);

    /// <summary>Is <paramref name="name"/> an embedding table whose gradient comes as gathered rows?</summary>
    public static bool IsRowTable(string name) => name is WordEmbeddings or PositionEmbeddings;

    public static byte[] Build(M3Config config, bool unified, IReadOnlyList<Parameter> parameters, bool gradients)
    {
        var g = new GraphBuilder();
        var tape = new Tape(g);
        var p = parameters.ToDictionary(x => x.Name, x =>
        {
            var input = g.Input(x.Name, DataType.Float, [.. x.Shape.Select(d => (Dim)d)]);
            return gradients && x.Trained ? Tape.Variable(input) : Tape.Constant(input);
        });
        var ids = g.Input(InputIds, DataType.Int64, "batch", "seq");
        var positions = g.Input(PositionIds, DataType.Int64, "batch", "seq");
        var bias = Tape.Constant(g.Input(AttentionBias, DataType.Float, "batch", 1, 1, "seq"));

        var encoder = new Encoder(tape, config, p, g.Shape(ids));
        var (hidden, gathered) = encoder.Embed(ids, positions);
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
            hidden = encoder.Layer(M3TensorLayout.LayerPrefix(layer), hidden, bias);

        var outputs = new List<(string Name, Var Value, Dim[] Shape)>
        {
            (Dense, tape.Normalize(tape.Squeeze(tape.Slice(encoder.Padded(hidden), 1, 0, 1), 1)), ["batch", config.HiddenSize]),
        };
        if (unified)
        {
            var sparse = tape.Relu(tape.Linear(hidden, p[SparseWeight], p[SparseBias]));
            outputs.Add((Sparse, tape.Reshape(sparse, g.Shape(ids), "batch", "seq"), ["batch", "seq"]));
            var colbert = tape.Linear(hidden, p[ColbertWeight], p[ColbertBias]);
            outputs.Add((Colbert, tape.Normalize(tape.Slice(encoder.Padded(colbert), 1, 1)), ["batch", "seq-1", config.HiddenSize]));
        }

        if (!gradients)
        {
            foreach (var (name, value, _) in outputs) g.Output(value.Value, name);
            return g.ToModelBytes();
        }
        tape.Backward([.. outputs.Select(o => (o.Value, g.Input(UpstreamPrefix + o.Name, DataType.Float, o.Shape)))]);
        foreach (var x in parameters.Where(x => x.Trained))
        {
            var gradient = IsRowTable(x.Name) ? tape.GradientOf(gathered[x.Name]) : tape.GradientOf(p[x.Name]);
            if (gradient == null) throw new InvalidOperationException($"training graph: no gradient reaches {x.Name}");
            g.Output(gradient, (IsRowTable(x.Name) ? RowsPrefix : GradPrefix) + x.Name);
        }
        return g.ToModelBytes();
    }

    /// <summary>XLM-RoBERTa on token rows [n·seq, H] (post-LayerNorm BERT layers, exact GELU), as M3Graph computes it.</summary>
    private sealed class Encoder(Tape tape, M3Config c, Dictionary<string, Var> p, GraphValue batchSeq)
    {
        private readonly GraphBuilder _g = tape.Graph;
        private readonly GraphValue _heads = tape.Graph.Concat(0, batchSeq, tape.Graph.Int64s(c.NumAttentionHeads, c.HeadSize));
        private readonly GraphValue _paddedShape = tape.Graph.Concat(0, batchSeq, tape.Graph.Int64s(c.HiddenSize));
        private readonly GraphValue _rowsShape = tape.Graph.Int64s(-1, c.HiddenSize);

        public (Var Hidden, Dictionary<string, Var> Gathered) Embed(GraphValue ids, GraphValue positions)
        {
            var flat = _g.Int64s(-1);
            var words = tape.GatherRows(p[WordEmbeddings], _g.Reshape(ids, flat, "batch*seq"));
            var places = tape.GatherRows(p[PositionEmbeddings], _g.Reshape(positions, flat, "batch*seq"));
            var x = tape.Add(tape.Add(words, places), tape.Slice(p["embeddings.token_type_embeddings.weight"], 0, 0, 1));
            x = tape.LayerNorm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"], c.LayerNormEps);
            return (x, new() { [WordEmbeddings] = words, [PositionEmbeddings] = places });
        }

        public Var Layer(string prefix, Var x, Var bias)
        {
            var q = Heads(Linear(x, prefix + "attention.self.query"), [0, 2, 1, 3]);
            var k = Heads(Linear(x, prefix + "attention.self.key"), [0, 2, 3, 1]);
            var v = Heads(Linear(x, prefix + "attention.self.value"), [0, 2, 1, 3]);
            var scores = tape.Add(tape.MatMul(tape.Scale(q, 1 / Math.Sqrt(c.HeadSize)), k), bias);
            var context = tape.MatMul(tape.Softmax(scores), v);
            var rows = tape.Reshape(tape.Transpose(context, 0, 2, 1, 3), _rowsShape, "batch*seq", c.HiddenSize);
            x = Norm(tape.Sum(Linear(rows, prefix + "attention.output.dense"), x), prefix + "attention.output.LayerNorm");
            var inner = tape.Gelu(Linear(x, prefix + "intermediate.dense"));
            return Norm(tape.Sum(Linear(inner, prefix + "output.dense"), x), prefix + "output.LayerNorm");
        }

        /// <summary>Token rows [n·seq, w] as [n, seq, w].</summary>
        public Var Padded(Var rows) => tape.Reshape(rows, _paddedShape, "batch", "seq", rows.Shape[1]);

        private Var Linear(Var x, string name) => tape.Linear(x, p[name + ".weight"], p[name + ".bias"]);

        private Var Norm(Var x, string name) => tape.LayerNorm(x, p[name + ".weight"], p[name + ".bias"], c.LayerNormEps);

        /// <summary>Rows [n·seq, H] split into heads and permuted: [n, heads, seq, d] for Q and V, [n, heads, d, seq] for Kᵀ.</summary>
        private Var Heads(Var rows, long[] perm) =>
            tape.Transpose(tape.Reshape(rows, _heads, "batch", "seq", c.NumAttentionHeads, c.HeadSize), perm);
    }
}

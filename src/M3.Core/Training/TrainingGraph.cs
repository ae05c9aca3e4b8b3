using M3.Core.Checkpoint;
using M3.Core.Onnx;
using M3.Core.Onnx.Autodiff;
using DataType = M3.Core.Onnx.Proto.TensorProto.Types.DataType;

namespace M3.Core.Training;

/// <summary>
/// The training graphs of BGE-M3, built with <see cref="Tape"/>. Every parameter is a graph input (bound to its
/// <see cref="TrainableTensor.Values"/>), so an optimizer step needs no rebuild. Tokens run as packed rows [tokens, H]
/// (no padding) through the embeddings, every Linear, LayerNorm and GELU; only attention moves them to the padded
/// [n, heads, seq, seq] layout (a gather by <see cref="PadIndex"/>, back by <see cref="PackIndex"/>), op by op (MatMul,
/// Softmax, MatMul) with −1e9 added at padding keys, so their probabilities and every gradient reaching padded
/// positions are exactly zero. The representation graph maps parameters and the inputs to the representations the loss
/// reads (dense [n, H] from each text's &lt;s&gt; row, per-token sparse weights [tokens], ColBERT vectors [tokens, H],
/// whose &lt;s&gt; rows the loss does not read); the gradient graph recomputes them and, given the loss' gradients with
/// respect to them, outputs every trained tensor's gradient (<c>grad:NAME</c>), or for the embedding tables the gradient
/// of the rows gathered for the tokens (<c>rows:NAME</c>, [tokens, H]).
/// </summary>
internal static class TrainingGraph
{
    public const string InputIds = "input_ids", PositionIds = "position_ids", AttentionBias = "attention_bias";
    public const string PadIndex = "pad_index", PackIndex = "pack_index", FirstIndex = "first_index", FirstInverse = "first_inverse";
    public const string Dense = "dense", Sparse = "sparse", Colbert = "colbert";
    public const string GradPrefix = "grad:", RowsPrefix = "rows:", UpstreamPrefix = "d_", AccumulatorPrefix = "acc:";
    public const string WordEmbeddings = "embeddings.word_embeddings.weight", PositionEmbeddings = "embeddings.position_embeddings.weight";
    public const string ColbertWeight = "colbert_linear.weight", ColbertBias = "colbert_linear.bias";
    public const string SparseWeight = "sparse_linear.weight", SparseBias = "sparse_linear.bias";
    public const float MaskedScore = -1e9f;

    /// <summary>A graph input that holds a parameter; <paramref name="Trained"/> ones get gradients in the gradient graph.</summary>
    public sealed record Parameter(string Name, int[] Shape, bool Trained);

    /// <summary>A dropout mask input: hidden states [tokens, H] or attention probabilities [n, heads, seq, seq]; <paramref name="Index"/> keys its random draws.</summary>
    public sealed record DropoutSite(string Name, bool IsAttention, int Index);

    /// <summary>The dropout sites of the encoder, as XLM-R's: after the embeddings' LayerNorm, on attention probabilities, and on each sublayer's output before its residual.</summary>
    public static IReadOnlyList<DropoutSite> DropoutSites(M3Config config, DropoutRates rates)
    {
        var names = new List<(string, bool)>();
        if (rates.Hidden > 0) names.Add(("dropout:embeddings", false));
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            if (rates.Attention > 0) names.Add(($"dropout:{layer}.attention", true));
            if (rates.Hidden > 0) names.AddRange([($"dropout:{layer}.attention_output", false), ($"dropout:{layer}.output", false)]);
        }
        return [.. names.Select((n, i) => new DropoutSite(n.Item1, n.Item2, i))];
    }

    /// <summary>Is <paramref name="name"/> an embedding table whose gradient comes as gathered rows?</summary>
    public static bool IsRowTable(string name) => name is WordEmbeddings or PositionEmbeddings;

    /// <summary>
    /// Which graph: the representations, the gradients, the gradients added to accumulators, or the gradient graph that
    /// also outputs the representations (for <see cref="GraphSplit"/>: one forward pass whose activations the backward pass reads).
    /// </summary>
    public enum Kind { Representations, Gradients, AccumulatedGradients, GradientsWithRepresentations }

    /// <summary>
    /// Builds one of the graphs. <see cref="Kind.AccumulatedGradients"/> takes every dense gradient's running sum as input
    /// <c>acc:NAME</c> and outputs the sum plus this sub-batch's gradient: the caller binds both to the same buffer
    /// (an elementwise Add reads each element before writing it), so sub-batches accumulate without a second gradient-sized buffer.
    /// </summary>
    public static byte[] Build(M3Config config, bool unified, IReadOnlyList<Parameter> parameters, DropoutRates dropout, Kind kind)
    {
        bool gradients = kind != Kind.Representations;
        var g = new GraphBuilder();
        var tape = new Tape(g);
        var p = parameters.ToDictionary(x => x.Name, x =>
        {
            var input = g.Input(x.Name, DataType.Float, [.. x.Shape.Select(d => (Dim)d)]);
            return gradients && x.Trained ? Tape.Variable(input) : Tape.Constant(input);
        });
        var ids = g.Input(InputIds, DataType.Int64, "tokens");
        var positions = g.Input(PositionIds, DataType.Int64, "tokens");
        var biasInput = g.Input(AttentionBias, DataType.Float, "batch", 1, 1, "seq");
        var layout = new PackedLayout(
            g.Input(PadIndex, DataType.Int64, "batch*seq"), g.Input(PackIndex, DataType.Int64, "tokens"),
            g.Gather(g.Shape(biasInput), g.Int64s(0, 3)));
        var firstIndex = g.Input(FirstIndex, DataType.Int64, "batch");
        var firstInverse = g.Input(FirstInverse, DataType.Int64, "tokens");

        var encoder = new Encoder(tape, config, p, layout, Tape.Constant(biasInput), dropout);
        var (hidden, gathered) = encoder.Embed(ids, positions);
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
            hidden = EncoderLayer.Build(encoder, layer, hidden);

        var outputs = new List<(string Name, Var Value, Dim[] Shape)>
        {
            (Dense, tape.Normalize(tape.Regather(hidden, firstIndex, false, firstInverse, true)), ["batch", config.HiddenSize]),
        };
        if (unified)
        {
            var sparse = tape.Relu(tape.Linear(hidden, p[SparseWeight], p[SparseBias]));
            outputs.Add((Sparse, tape.Reshape(sparse, g.Int64s(-1), "tokens"), ["tokens"]));
            outputs.Add((Colbert, tape.Normalize(tape.Linear(hidden, p[ColbertWeight], p[ColbertBias])), ["tokens", config.HiddenSize]));
        }

        if (!gradients)
        {
            foreach (var (name, value, _) in outputs) g.Output(value.Value, name);
            return g.ToModelBytes();
        }
        if (kind == Kind.GradientsWithRepresentations)
            foreach (var (name, value, _) in outputs) g.Output(value.Value, name);
        tape.Backward([.. outputs.Select(o => (o.Value, g.Input(UpstreamPrefix + o.Name, DataType.Float, o.Shape)))]);
        foreach (var x in parameters.Where(x => x.Trained))
        {
            var gradient = IsRowTable(x.Name) ? tape.GradientOf(gathered[x.Name]) : tape.GradientOf(p[x.Name]);
            if (gradient == null) throw new InvalidOperationException($"training graph: no gradient reaches {x.Name}");
            if (kind == Kind.AccumulatedGradients && !IsRowTable(x.Name))
                gradient = g.Add(g.Input(AccumulatorPrefix + x.Name, DataType.Float, [.. x.Shape.Select(d => (Dim)d)]), gradient);
            g.Output(gradient, (IsRowTable(x.Name) ? RowsPrefix : GradPrefix) + x.Name);
        }
        return g.ToModelBytes();
    }

    /// <summary>Maps between packed token rows and the padded layout: <c>pad_index</c>, <c>pack_index</c>, and the run-time [n, seq].</summary>
    private sealed record PackedLayout(GraphValue PadIndex, GraphValue PackIndex, GraphValue BatchSeq);

    /// <summary>The encoder on packed token rows [tokens, H]: embeddings, and the layer operations whose wiring <see cref="EncoderLayer"/> shares with M3Graph.</summary>
    private sealed class Encoder(Tape tape, M3Config c, Dictionary<string, Var> p, PackedLayout layout, Var bias, DropoutRates dropout) : IEncoderLayerOps<Var>
    {
        private readonly HashSet<string> _sites = [.. DropoutSites(c, dropout).Select(s => s.Name)];
        private readonly GraphBuilder _g = tape.Graph;
        private readonly GraphValue _heads = tape.Graph.Concat(0, layout.BatchSeq, tape.Graph.Int64s(c.NumAttentionHeads, c.HeadSize));
        private readonly GraphValue _rowsShape = tape.Graph.Int64s(-1, c.HiddenSize);

        public (Var Hidden, Dictionary<string, Var> Gathered) Embed(GraphValue ids, GraphValue positions)
        {
            var words = tape.GatherRows(p[WordEmbeddings], ids);
            var places = tape.GatherRows(p[PositionEmbeddings], positions);
            var x = tape.Add(tape.Add(words, places), tape.Slice(p["embeddings.token_type_embeddings.weight"], 0, 0, 1));
            x = Dropout(tape.LayerNorm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"], c.LayerNormEps), "dropout:embeddings");
            return (x, new() { [WordEmbeddings] = words, [PositionEmbeddings] = places });
        }

        public Var SelfAttention(Var x, int layer)
        {
            var prefix = M3TensorLayout.LayerPrefix(layer);
            var q = Heads(Linear(x, prefix + "attention.self.query"), [0, 2, 1, 3]);
            var k = Heads(Linear(x, prefix + "attention.self.key"), [0, 2, 3, 1]);
            var v = Heads(Linear(x, prefix + "attention.self.value"), [0, 2, 1, 3]);
            var scores = tape.Add(tape.MatMul(tape.Scale(q, 1 / Math.Sqrt(c.HeadSize)), k), bias);
            var context = tape.MatMul(Dropout(tape.Softmax(scores), $"dropout:{layer}.attention"), v);
            var padded = tape.Reshape(tape.Transpose(context, 0, 2, 1, 3), _rowsShape, "batch*seq", c.HiddenSize);
            // Back to packed rows; the rows of padded queries are dropped (and get no gradient).
            return tape.Regather(padded, layout.PackIndex, false, layout.PadIndex, true);
        }

        /// <summary>Sum, as the inference graph's residual (see M3Graph).</summary>
        public Var Residual(Var sublayer, Var x) => tape.Sum(sublayer, x);

        public Var Gelu(Var x) => tape.Gelu(x);

        /// <summary>x ⊙ keep / (1 − p) with the keep-mask a bool input, when the site is active.</summary>
        public Var Dropout(Var x, string site)
        {
            if (!_sites.Contains(site)) return x;
            bool attention = x.Shape.Length == 4;
            var mask = _g.Input(site, DataType.Bool, attention ? ["batch", c.NumAttentionHeads, "seq", "seq"] : ["tokens", c.HiddenSize]);
            float p = attention ? dropout.Attention : dropout.Hidden;
            return tape.Dropout(x, mask, 1 / (1 - p));
        }

        public Var Linear(Var x, string name) => tape.Linear(x, p[name + ".weight"], p[name + ".bias"]);

        public Var Norm(Var x, string name) => tape.LayerNorm(x, p[name + ".weight"], p[name + ".bias"], c.LayerNormEps);

        /// <summary>
        /// Packed rows [tokens, H] moved to the padded layout (zero rows at padding), split into heads and permuted:
        /// [n, heads, seq, d] for Q and V, [n, heads, d, seq] for Kᵀ.
        /// </summary>
        private Var Heads(Var rows, long[] perm)
        {
            var padded = tape.Regather(rows, layout.PadIndex, true, layout.PackIndex, false);
            return tape.Transpose(tape.Reshape(padded, _heads, "batch", "seq", c.NumAttentionHeads, c.HeadSize), perm);
        }
    }
}

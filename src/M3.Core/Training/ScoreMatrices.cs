using System.Numerics.Tensors;

namespace M3.Core.Training;

/// <summary>
/// The B × B·G score matrices of FlagEmbedding's M3 model (already divided by the temperature) and the chain rule from
/// their gradients back to the representations, in float64. Sparse scores come from token-id matches, never a
/// vocabulary-sized vector; ColBERT's MaxSim takes the max over a passage's real tokens only (the deliberate deviation
/// from FlagEmbedding, whose zero padding vectors would make the max at least 0 for every passage but the longest).
/// </summary>
internal sealed class ScoreMatrices
{
    /// <summary>&lt;s&gt;, &lt;pad&gt;, &lt;/s&gt;, &lt;unk&gt;: FlagEmbedding zeroes their sparse weights.</summary>
    private const int FirstOrdinaryId = 4;

    private readonly TextRepresentation<float>[] _queries, _passages;
    private readonly int _hidden;
    private readonly double _temperature;
    private readonly SparseVector[] _querySparse = [], _passageSparse = [];
    // ColBERT argmax: for query b, passage j, query token i, the passage token of the best match.
    private readonly int[][] _best = [];

    public double[,] Dense { get; }
    public double[,]? SparseScores { get; }
    public double[,]? Colbert { get; }

    public int Rows => _queries.Length;
    public int Columns => _passages.Length;

    public ScoreMatrices(TextRepresentation<float>[] queries, TextRepresentation<float>[] passages, int hidden, double temperature, bool unified)
    {
        _queries = queries;
        _passages = passages;
        _hidden = hidden;
        _temperature = temperature;
        Dense = Pairwise((b, j) => TensorPrimitives.Dot<float>(queries[b].Dense, passages[j].Dense));
        if (!unified) return;
        _querySparse = [.. queries.Select(SparseVector.Of)];
        _passageSparse = [.. passages.Select(SparseVector.Of)];
        SparseScores = Pairwise((b, j) => _querySparse[b].Dot(_passageSparse[j]));
        _best = new int[queries.Length * passages.Length][];
        Colbert = Pairwise(MaxSim);
    }

    /// <summary>Adds the gradients of the loss with respect to the representations, given its gradients with respect to the scores.</summary>
    public void Backward(double[,] dDense, double[,]? dSparse, double[,]? dColbert,
                         TextRepresentation<double>[] queryGrads, TextRepresentation<double>[] passageGrads)
    {
        for (int b = 0; b < Rows; b++)
            for (int j = 0; j < Columns; j++)
            {
                var q = _queries[b]; var p = _passages[j];
                var gq = queryGrads[b]; var gp = passageGrads[j];
                double dd = dDense[b, j] / _temperature;
                if (dd != 0)
                {
                    AddScaled(gq.Dense, p.Dense, dd);
                    AddScaled(gp.Dense, q.Dense, dd);
                }
                if (dSparse != null && dSparse[b, j] != 0)
                {
                    double ds = dSparse[b, j] / _temperature;
                    _querySparse[b].BackwardDot(_passageSparse[j], ds, gq.Sparse);
                    _passageSparse[j].BackwardDot(_querySparse[b], ds, gp.Sparse);
                }
                if (dColbert != null && dColbert[b, j] != 0)
                {
                    var best = _best[b * Columns + j];
                    double dc = dColbert[b, j] / _temperature / best.Length;
                    for (int i = 0; i < best.Length; i++)
                    {
                        int k = best[i];
                        AddScaled(gq.Colbert.AsSpan(i * _hidden, _hidden), p.Colbert.AsSpan(k * _hidden, _hidden), dc);
                        AddScaled(gp.Colbert.AsSpan(k * _hidden, _hidden), q.Colbert.AsSpan(i * _hidden, _hidden), dc);
                    }
                }
            }
    }

    private double[,] Pairwise(Func<int, int, double> score)
    {
        var s = new double[Rows, Columns];
        for (int b = 0; b < Rows; b++)
            for (int j = 0; j < Columns; j++)
                s[b, j] = score(b, j) / _temperature;
        return s;
    }

    /// <summary>Σ over query tokens of the best dot product with a passage token, over the number of query tokens.</summary>
    private double MaxSim(int b, int j)
    {
        var q = _queries[b].Colbert; var p = _passages[j].Colbert;
        int n = q.Length / _hidden, m = p.Length / _hidden;
        var best = new int[n];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var qi = q.AsSpan(i * _hidden, _hidden);
            float max = float.NegativeInfinity;
            for (int k = 0; k < m; k++)
            {
                float d = TensorPrimitives.Dot<float>(qi, p.AsSpan(k * _hidden, _hidden));
                if (d > max) { max = d; best[i] = k; }
            }
            sum += max;
        }
        _best[b * Columns + j] = best;
        return sum / n;
    }

    private static void AddScaled(Span<double> target, ReadOnlySpan<float> source, double factor)
    {
        for (int i = 0; i < target.Length; i++) target[i] += factor * source[i];
    }

    /// <summary>
    /// A text's sparse vector as FlagEmbedding builds it (scatter_reduce amax of relu weights by token id, special ids
    /// zeroed), kept as id → (max weight, the positions that reach it): a gradient reaching an id is split evenly among
    /// its tied maxima, as PyTorch's amax backward does.
    /// </summary>
    private sealed class SparseVector
    {
        private readonly Dictionary<int, (float Weight, List<int> Positions)> _entries = [];

        public static SparseVector Of(TextRepresentation<float> text)
        {
            var v = new SparseVector();
            for (int t = 0; t < text.Ids.Length; t++)
            {
                int id = text.Ids[t];
                float w = text.Sparse[t];
                if (id < FirstOrdinaryId || w <= 0) continue; // a zero weight adds nothing and its relu passes no gradient
                if (!v._entries.TryGetValue(id, out var e) || w > e.Weight) v._entries[id] = (w, [t]);
                else if (w == e.Weight) e.Positions.Add(t);
            }
            return v;
        }

        public double Dot(SparseVector other)
        {
            double sum = 0;
            foreach (var (id, e) in _entries)
                if (other._entries.TryGetValue(id, out var o)) sum += (double)e.Weight * o.Weight;
            return sum;
        }

        /// <summary>Adds factor·(other's weight) to this text's per-token gradient, for every shared id.</summary>
        public void BackwardDot(SparseVector other, double factor, double[] tokenGradient)
        {
            foreach (var (id, e) in _entries)
                if (other._entries.TryGetValue(id, out var o))
                    foreach (var t in e.Positions) tokenGradient[t] += factor * o.Weight / e.Positions.Count;
        }
    }
}

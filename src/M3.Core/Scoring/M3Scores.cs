using System.Numerics.Tensors;
using M3.Core.Representations;

namespace M3.Core.Scoring;

/// <summary>BGE-M3's relevance scores, as FlagEmbedding's <c>BGEM3FlagModel.compute_score</c> defines them.</summary>
public static class M3Scores
{
    /// <summary>Dot product of two normalized dense vectors.</summary>
    public static float Dense(ReadOnlySpan<float> query, ReadOnlySpan<float> passage) => TensorPrimitives.Dot(query, passage);

    /// <summary>Lexical matching: sum over shared token ids of q_w · p_w (a merge of the two sorted id lists).</summary>
    public static float Sparse(SparseVector query, SparseVector passage)
    {
        var qi = query.Ids; var pi = passage.Ids;
        var qw = query.Weights; var pw = passage.Weights;
        float sum = 0;
        for (int a = 0, b = 0; a < qi.Length && b < pi.Length;)
        {
            if (qi[a] == pi[b]) sum += qw[a++] * pw[b++];
            else if (qi[a] < pi[b]) a++;
            else b++;
        }
        return sum;
    }

    /// <summary>ColBERT late interaction: mean over query vectors of the maximum dot product over passage vectors.</summary>
    public static float Colbert(MultiVector query, MultiVector passage) => Colbert(query, passage.Data, passage.Dimension);

    /// <summary>
    /// <see cref="Colbert(MultiVector, MultiVector)"/> over passage vectors given as consecutive rows of
    /// <paramref name="dimension"/> floats (a reused buffer instead of a <see cref="MultiVector"/>); the same score.
    /// </summary>
    public static float Colbert(MultiVector query, ReadOnlySpan<float> passageRows, int dimension)
    {
        int rows = passageRows.Length / dimension;
        if (query.Count == 0 || rows == 0) return 0;
        double total = 0;
        for (int q = 0; q < query.Count; q++)
        {
            var qv = query[q];
            float best = float.NegativeInfinity;
            for (int p = 0; p < rows; p++)
                best = MathF.Max(best, TensorPrimitives.Dot(qv, passageRows.Slice(p * dimension, dimension)));
            total += best;
        }
        return (float)(total / query.Count);
    }

    /// <summary>FlagEmbedding's <c>sparse+dense</c>: (w_d·dense + w_s·sparse) / (w_d + w_s).</summary>
    public static float SparseDense(float dense, float sparse, HybridWeights w) =>
        (w.Dense * dense + w.Sparse * sparse) / (w.Dense + w.Sparse);

    /// <summary>FlagEmbedding's <c>colbert+sparse+dense</c>: (w_d·dense + w_s·sparse + w_c·colbert) / (w_d + w_s + w_c).</summary>
    public static float ColbertSparseDense(float dense, float sparse, float colbert, HybridWeights w) =>
        (w.Dense * dense + w.Sparse * sparse + w.Colbert * colbert) / (w.Dense + w.Sparse + w.Colbert);

    /// <summary>All five scores of a query/passage pair; representations that are missing score 0.</summary>
    public static PairScores All(M3Embedding query, M3Embedding passage, HybridWeights? weights = null)
    {
        var w = weights ?? HybridWeights.Default;
        float d = query.Dense is { } qd && passage.Dense is { } pd ? Dense(qd, pd) : 0;
        float s = query.Sparse is { } qs && passage.Sparse is { } ps ? Sparse(qs, ps) : 0;
        float c = query.Colbert is { } qc && passage.Colbert is { } pc ? Colbert(qc, pc) : 0;
        return new PairScores(d, s, c, SparseDense(d, s, w), ColbertSparseDense(d, s, c, w));
    }
}

/// <summary>The five scores of a query/passage pair, named as FlagEmbedding names them.</summary>
public sealed record PairScores(float Dense, float Sparse, float Colbert, float SparseDense, float ColbertSparseDense);

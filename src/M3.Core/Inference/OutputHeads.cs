using System.Numerics.Tensors;
using M3.Core.Representations;
using M3.Tokenization;

namespace M3.Core.Inference;

/// <summary>Turns one sequence's rows of the graph outputs into the M3 representations (FlagEmbedding's post-processing).</summary>
internal static class OutputHeads
{
    /// <summary>Normalized hidden state of <c>&lt;s&gt;</c>, or with MCLS the normalized mean over every <c>&lt;s&gt;</c> position.</summary>
    public static float[] Dense(ReadOnlySpan<float> hidden, ReadOnlySpan<int> ids, int dim, bool mcls)
    {
        var v = new float[dim];
        if (!mcls)
        {
            hidden[..dim].CopyTo(v);
        }
        else
        {
            int count = 0;
            for (int p = 0; p < ids.Length; p++)
            {
                if (ids[p] != XlmRobertaTokenizer.BosId) continue;
                TensorPrimitives.Add(v, hidden.Slice(p * dim, dim), v);
                count++;
            }
            TensorPrimitives.Divide(v, count, v);
        }
        Normalize(v);
        return v;
    }

    /// <summary>relu weights per token (already relu'd by the graph), ids 0–3 (&lt;s&gt;, &lt;pad&gt;, &lt;/s&gt;, &lt;unk&gt;) dropped, max per id.</summary>
    public static SparseVector Sparse(ReadOnlySpan<float> weights, ReadOnlySpan<int> ids)
    {
        var pairs = new List<KeyValuePair<int, float>>(ids.Length);
        for (int p = 0; p < ids.Length; p++)
            if (ids[p] > XlmRobertaTokenizer.UnkId) pairs.Add(new(ids[p], weights[p]));
        return SparseVector.FromPairs(pairs);
    }

    /// <summary>The ColBERT rows of the sequence's tokens after &lt;s&gt; (the graph already normalized them).</summary>
    public static MultiVector Colbert(ReadOnlySpan<float> rows, int tokens, int dim) =>
        new(rows[..((tokens - 1) * dim)].ToArray(), dim);

    /// <summary>torch.nn.functional.normalize: v / max(‖v‖, 1e-12).</summary>
    private static void Normalize(Span<float> v)
    {
        float norm = MathF.Max(TensorPrimitives.Norm(v), 1e-12f);
        TensorPrimitives.Divide(v, norm, v);
    }
}

using M3.Core.Representations;
using M3.Core.Scoring;
using M3.Retrieval.Storage;

namespace M3.Retrieval.Tests;

/// <summary>Random but valid representations (normalized dense and ColBERT rows, sparse weights over a small vocabulary).</summary>
internal static class SyntheticIndex
{
    public static M3Embedding Embedding(Random rng, int dim, int vocabulary = 60, int tokens = 12)
    {
        var dense = Unit(rng, dim);
        var rows = new float[tokens * dim];
        for (int r = 0; r < tokens; r++) Unit(rng, dim).CopyTo(rows, r * dim);
        var pairs = Enumerable.Range(0, tokens).Select(_ => new KeyValuePair<int, float>(4 + rng.Next(vocabulary), (float)rng.NextDouble()));
        return new M3Embedding(dense, SparseVector.FromPairs(pairs), new MultiVector(rows, dim), tokens + 1);
    }

    public static void Fill(M3Index index, int count, int seed, string prefix = "doc")
    {
        var rng = new Random(seed);
        var batch = Enumerable.Range(0, count)
            .Select(i => new IndexStore.StoredPassage($"{prefix}{i}", 0, $"text {i}", null, Embedding(rng, index.HiddenSize)))
            .ToList();
        index.Write(batch);
    }

    private static float[] Unit(Random rng, int dim)
    {
        var v = new float[dim];
        for (int i = 0; i < dim; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        float n = MathF.Sqrt(v.Sum(x => x * x));
        for (int i = 0; i < dim; i++) v[i] /= n;
        return v;
    }
    /// <summary>The score a search mode ranks by, from M3Scores: the reference every index search must equal.</summary>
    public static float Reference(SearchMode mode, M3Embedding q, M3Embedding d, HybridWeights w) => mode switch
    {
        SearchMode.Dense => M3Scores.Dense(q.Dense, d.Dense),
        SearchMode.Sparse => M3Scores.Sparse(q.Sparse!, d.Sparse!),
        SearchMode.Colbert => M3Scores.Colbert(q.Colbert!, d.Colbert!),
        _ => M3Scores.All(q, d, w).ColbertSparseDense,
    };

    /// <summary>
    /// Exact search, and approximate search with <paramref name="approximateCandidates"/>, return the top 10 of
    /// <paramref name="docs"/> by <see cref="Reference"/> (ties by insertion order), with equal scores.
    /// </summary>
    public static void AssertRanksLikeBruteForce(M3Index index, M3Embedding query, IReadOnlyList<(string Id, M3Embedding E)> docs,
        SearchMode mode, HybridWeights weights, int approximateCandidates)
    {
        var expected = docs.Select((d, i) => (d.Id, Score: Reference(mode, query, d.E, weights), Index: i))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Index).Take(10).ToList();
        foreach (var exact in new[] { true, false })
        {
            var hits = index.Search(query, new SearchOptions { Mode = mode, Exact = exact, TopK = 10, Weights = weights, Candidates = exact ? 100 : approximateCandidates });
            Assert.Equal(expected.Select(x => x.Id), hits.Select(h => h.Id));
            Assert.Equal(expected.Select(x => x.Score), hits.Select(h => h.Score));
        }
    }
}

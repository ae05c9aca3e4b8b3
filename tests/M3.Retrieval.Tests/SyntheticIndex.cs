using M3.Core.Representations;
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
}

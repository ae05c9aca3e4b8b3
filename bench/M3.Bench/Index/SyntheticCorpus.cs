using System.Numerics.Tensors;
using M3.Core.Representations;

namespace M3.Bench.Index;

/// <summary>
/// Representations with BGE-M3's shapes (1024-dim dense, ColBERT rows of 1024, ~60 sparse weights over a 250k vocabulary)
/// and the structure real embeddings have: passages fall into clusters of a 64-dimensional latent space embedded in the
/// 1024 dimensions, sparse tokens follow a Zipf law plus per-cluster topic tokens, and each query lies near its passage.
/// Uniform random 1024-dim vectors would be nearly equidistant and make any ANN look broken. Every passage and query is
/// a pure function of its number, so a separate query process regenerates them without the corpus.
/// </summary>
internal sealed class SyntheticCorpus
{
    public const int Dimension = 1024, Vocabulary = 250_002;
    private const int Latent = 64, Clusters = 2000, TopicTokens = 150, SparseTokens = 60, Basis = 2048;
    private readonly float[][] _projection;
    private readonly float[][] _centroids;
    private readonly float[][] _basis;
    private readonly int _seed;

    public SyntheticCorpus(int colbertVectors, int seed = 42)
    {
        ColbertVectors = colbertVectors;
        _seed = seed;
        var rng = new Random(seed);
        _projection = [.. Enumerable.Range(0, Latent).Select(_ => Gaussian(rng, Dimension, 1f / MathF.Sqrt(Latent)))];
        _centroids = [.. Enumerable.Range(0, Clusters).Select(_ => Gaussian(rng, Latent, 1f))];
        _basis = [.. Enumerable.Range(0, Basis).Select(_ => Normalize(Gaussian(rng, Dimension, 1f)))];
    }

    public int ColbertVectors { get; }

    private Random For(long item, int salt) => new(Seed(_seed, item, salt));

    /// <summary>
    /// The random seed of one item: a fixed mix (SplitMix64's finalizer) of the corpus seed, the item and a salt. Not
    /// HashCode.Combine, which is randomized per process: the query process would generate other passages' queries.
    /// </summary>
    internal static int Seed(int seed, long item, int salt)
    {
        ulong x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)item * 0xBF58476D1CE4E5B9UL ^ (ulong)salt * 0x94D049BB133111EBUL);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return unchecked((int)(x ^ (x >> 31)));
    }

    /// <summary>Passage <paramref name="i"/>'s latent point: its cluster's centroid plus spread.</summary>
    private float[] LatentOf(int i)
    {
        var rng = For(i, 1);
        var z = (float[])_centroids[rng.Next(Clusters)].Clone();
        var noise = Gaussian(rng, Latent, 0.6f);
        TensorPrimitives.Add(z, noise, z);
        return z;
    }

    private float[] DenseFrom(float[] latent, Random rng, float isotropic)
    {
        var v = Gaussian(rng, Dimension, isotropic / MathF.Sqrt(Dimension));
        for (int k = 0; k < Latent; k++) TensorPrimitives.MultiplyAdd(_projection[k], latent[k], v, v);
        return Normalize(v);
    }

    public M3Embedding Passage(int i)
    {
        var latent = LatentOf(i);
        var dense = DenseFrom(latent, For(i, 2), 0.3f);
        return new M3Embedding(dense, Sparse(i, For(i, 4), SparseTokens), Colbert(dense, For(i, 5), ColbertVectors), ColbertVectors);
    }

    /// <summary>A query near passage <paramref name="i"/>: its latent point moved a little, a few of its tokens, 32 ColBERT rows.</summary>
    public M3Embedding QueryFor(int i)
    {
        var latent = LatentOf(i);
        var rng = For(i, 3);
        TensorPrimitives.Add(latent, Gaussian(rng, Latent, 0.25f), latent);
        var dense = DenseFrom(latent, rng, 0.3f);
        var own = Sparse(i, For(i, 4), SparseTokens);
        var picks = Enumerable.Range(0, 8).Select(_ => rng.Next(own.Count)).Distinct()
            .Select(p => new KeyValuePair<int, float>(own.Ids[p], 0.1f + (float)rng.NextDouble() * 0.3f))
            .Append(new(Zipf(rng), 0.1f));
        return new M3Embedding(dense, SparseVector.FromPairs(picks), ColbertVectors > 0 ? Colbert(dense, rng, 32) : null, 32);
    }

    private SparseVector Sparse(int i, Random rng, int count)
    {
        int cluster = For(i, 1).Next(Clusters);
        var pairs = new List<KeyValuePair<int, float>>(count);
        for (int t = 0; t < count; t++)
        {
            // A third topic tokens of the passage's cluster (a contiguous id range), the rest Zipf-distributed.
            int id = t % 3 == 0 ? 1000 + (cluster * TopicTokens + rng.Next(TopicTokens)) % (Vocabulary - 1000) : Zipf(rng);
            pairs.Add(new(id, 0.02f + (float)rng.NextDouble() * 0.35f));
        }
        return SparseVector.FromPairs(pairs);
    }

    /// <summary>Token ids from a Zipf(1) law over the vocabulary (frequent ids are small), by inverse transform of its continuous approximation.</summary>
    private static int Zipf(Random rng) => Math.Min(Vocabulary - 1, 4 + (int)Math.Exp(rng.NextDouble() * Math.Log(Vocabulary)) - 1);

    private MultiVector? Colbert(float[] dense, Random rng, int rows)
    {
        if (rows == 0) return null;
        var data = new float[rows * Dimension];
        for (int r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * Dimension, Dimension);
            TensorPrimitives.Multiply(dense, 0.6f, row);
            TensorPrimitives.MultiplyAdd(_basis[rng.Next(Basis)], 0.8f, row, row);
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }
        return new MultiVector(data, Dimension);
    }

    private static float[] Gaussian(Random rng, int n, float scale)
    {
        var v = new float[n];
        for (int i = 0; i < n; i += 2)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble(), r = Math.Sqrt(-2 * Math.Log(u1)) * scale;
            v[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < n) v[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
        return v;
    }

    private static float[] Normalize(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }
}

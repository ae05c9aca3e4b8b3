using M3.Core.Representations;
using M3.Core.Scoring;

namespace M3.Bench.Encoder;

/// <summary>
/// What a precision comparison needs from one engine's run, small enough to pass between processes: the dense vectors,
/// the sparse weights, and the ColBERT score of each text against the next one (full ColBERT matrices would be hundreds of MB).
/// </summary>
public sealed record OutputSummary(float[][] Dense, SparseVector[] Sparse, float[] ColbertNextScores)
{
    public static OutputSummary From(IReadOnlyList<M3Embedding> embeddings)
    {
        var n = embeddings.Count;
        var colbert = new float[n];
        for (var i = 0; i < n; i++)
            colbert[i] = M3Scores.Colbert(Require(embeddings[i].Colbert, "colbert"), Require(embeddings[(i + 1) % n].Colbert, "colbert"));
        return new(
            embeddings.Select(e => Require(e.Dense, "dense")).ToArray(),
            embeddings.Select(e => Require(e.Sparse, "sparse")).ToArray(),
            colbert);
    }

    private static T Require<T>(T? value, string what) where T : class =>
        value ?? throw new InvalidOperationException($"the benchmark encodes all outputs, but {what} is missing");

    public void Write(string path)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(Dense.Length);
        foreach (var d in Dense)
        {
            w.Write(d.Length);
            foreach (var x in d) w.Write(x);
        }
        foreach (var s in Sparse)
        {
            w.Write(s.Count);
            for (var k = 0; k < s.Count; k++)
            {
                w.Write(s.Ids[k]);
                w.Write(s.Weights[k]);
            }
        }
        foreach (var c in ColbertNextScores) w.Write(c);
    }

    public static OutputSummary Read(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        var n = r.ReadInt32();
        var dense = new float[n][];
        for (var i = 0; i < n; i++)
        {
            dense[i] = new float[r.ReadInt32()];
            for (var k = 0; k < dense[i].Length; k++) dense[i][k] = r.ReadSingle();
        }
        var sparse = new SparseVector[n];
        for (var i = 0; i < n; i++)
        {
            var count = r.ReadInt32();
            var ids = new int[count];
            var weights = new float[count];
            for (var k = 0; k < count; k++)
            {
                ids[k] = r.ReadInt32();
                weights[k] = r.ReadSingle();
            }
            sparse[i] = new SparseVector(ids, weights);
        }
        var colbert = new float[n];
        for (var i = 0; i < n; i++) colbert[i] = r.ReadSingle();
        return new(dense, sparse, colbert);
    }
}

/// <summary>How far a lower-precision run is from the fp32 one.</summary>
public sealed record Fidelity(int Texts, double MeanDenseCosine, double MinDenseCosine, double MaxColbertScoreDiff, double MaxSparseWeightDiff)
{
    public static Fidelity Compare(OutputSummary reference, OutputSummary other)
    {
        var n = reference.Dense.Length;
        if (other.Dense.Length != n) throw new ArgumentException($"{other.Dense.Length} texts against {n}");
        double sum = 0, min = double.PositiveInfinity, colbert = 0, sparse = 0;
        for (var i = 0; i < n; i++)
        {
            var cos = Cosine(reference.Dense[i], other.Dense[i]);
            sum += cos;
            min = Math.Min(min, cos);
            colbert = Math.Max(colbert, Math.Abs(reference.ColbertNextScores[i] - other.ColbertNextScores[i]));
            sparse = Math.Max(sparse, MaxWeightDiff(reference.Sparse[i], other.Sparse[i]));
        }
        return new(n, n == 0 ? 1 : sum / n, n == 0 ? 1 : min, colbert, sparse);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var k = 0; k < a.Length; k++)
        {
            dot += (double)a[k] * b[k];
            na += (double)a[k] * a[k];
            nb += (double)b[k] * b[k];
        }
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>Largest weight difference over the union of ids; an id one side dropped (weight 0) counts with weight 0.</summary>
    private static double MaxWeightDiff(SparseVector a, SparseVector b)
    {
        double max = 0;
        int i = 0, j = 0;
        while (i < a.Count || j < b.Count)
        {
            if (j >= b.Count || (i < a.Count && a.Ids[i] < b.Ids[j])) max = Math.Max(max, Math.Abs(a.Weights[i++]));
            else if (i >= a.Count || b.Ids[j] < a.Ids[i]) max = Math.Max(max, Math.Abs(b.Weights[j++]));
            else max = Math.Max(max, Math.Abs(a.Weights[i++] - b.Weights[j++]));
        }
        return max;
    }
}

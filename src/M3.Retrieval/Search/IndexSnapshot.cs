using M3.Core.Representations;
using M3.Retrieval.Storage;

namespace M3.Retrieval.Search;

/// <summary>One token's postings: passage indexes ascending, their weights, and the largest weight (WAND's upper bound).</summary>
internal sealed record PostingList(int[] Passages, float[] Weights, float MaxWeight);

/// <summary>
/// Everything search reads, loaded into memory at once when the index is opened (and again after it changes):
/// a dense matrix scanned with SIMD, the inverted index, and per-passage sparse and ColBERT vectors for exact scoring.
/// Passages are numbered 0..n−1 in insertion order.
/// </summary>
internal sealed class IndexSnapshot
{
    public required int Dimension { get; init; }
    public required string[] DocIds { get; init; }
    public required float[] Dense { get; init; }
    public required SparseVector[] Sparse { get; init; }
    public required MultiVector[] Colbert { get; init; }
    public required Dictionary<int, PostingList> Postings { get; init; }

    public int Count => DocIds.Length;

    /// <summary>True when some document was split into several passages (scores are then aggregated per document).</summary>
    public bool HasPassages { get; init; }

    public ReadOnlySpan<float> DenseRow(int passage) => Dense.AsSpan(passage * Dimension, Dimension);

    public static IndexSnapshot Load(IndexStore store, int dimension, bool colbertAsHalf)
    {
        var docIds = new List<string>();
        var dense = new List<float>();
        var sparse = new List<SparseVector>();
        var colbert = new List<MultiVector>();
        var bySeq = new Dictionary<long, int>();
        foreach (var (seq, docId, d, s, c) in store.ReadAll())
        {
            bySeq[seq] = docIds.Count;
            docIds.Add(docId);
            dense.AddRange(BlobCodec.ToFloats(d));
            sparse.Add(BlobCodec.ToSparse(s));
            colbert.Add(new MultiVector(colbertAsHalf ? BlobCodec.FromHalves(c) : BlobCodec.ToFloats(c), dimension));
        }

        var postings = new Dictionary<int, PostingList>();
        int? token = null;
        var passages = new List<int>();
        var weights = new List<float>();
        void Flush()
        {
            if (token is { } t) postings[t] = new PostingList([.. passages], [.. weights], weights.Max());
            passages.Clear();
            weights.Clear();
        }
        foreach (var (t, seq, w) in store.ReadPostings())
        {
            if (t != token) { Flush(); token = t; }
            passages.Add(bySeq[seq]);
            weights.Add(w);
        }
        Flush();
        // Seq order is insertion order, so each list is already ascending by passage index.

        return new IndexSnapshot
        {
            Dimension = dimension,
            DocIds = [.. docIds],
            Dense = [.. dense],
            Sparse = [.. sparse],
            Colbert = [.. colbert],
            Postings = postings,
            HasPassages = docIds.Distinct().Count() != docIds.Count,
        };
    }
}

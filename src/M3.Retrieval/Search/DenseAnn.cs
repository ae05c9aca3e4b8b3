using Cloud.Unum.USearch;

namespace M3.Retrieval.Search;

/// <summary>
/// The approximate dense index of a base segment: USearch's HNSW over float16 copies of the dense vectors (inner
/// product, keys = passage seqs). Searching opens the saved file as a memory-mapped view, so opening costs nothing in
/// proportion to the corpus; candidates it returns are re-scored exactly from the float32 vectors.
/// </summary>
internal sealed class DenseAnn : IDisposable
{
    // HNSW parameters: connectivity 16 and expansion 128 on insertion, 64 at search (raised to the number of results asked).
    private const ulong Connectivity = 16, ExpansionAdd = 128, ExpansionSearch = 64;
    private readonly USearchIndex _index;

    private DenseAnn(USearchIndex index) => _index = index;

    public static DenseAnn View(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: ANN file missing", path);
        try { return new DenseAnn(new USearchIndex(path, view: true)); }
        catch (USearchException e) { throw new InvalidDataException($"{path}: unreadable ANN file ({e.Message})", e); }
    }

    public long Count => (long)_index.Size();

    /// <summary>Up to <paramref name="count"/> nearest seqs by inner product (approximate).</summary>
    public ulong[] Search(float[] query, int count)
    {
        _index.Search(query, count, out var keys, out _);
        return keys;
    }

    /// <summary>
    /// Writes a new ANN file: the previous segment's graph (loaded into memory, entries in <paramref name="removed"/> taken
    /// out) extended with <paramref name="added"/>, or a new graph when there is no previous one.
    /// </summary>
    public static void Build(string path, int dimension, string? previous, IEnumerable<long> removed, IEnumerable<(long Seq, float[] Dense)> added)
    {
        using var index = previous != null && File.Exists(previous)
            ? new USearchIndex(previous)
            : new USearchIndex(MetricKind.Ip, ScalarKind.Float16, (ulong)dimension, Connectivity, ExpansionAdd, ExpansionSearch);
        foreach (var seq in removed)
            if (index.Contains((ulong)seq)) index.Remove((ulong)seq);
        // Added in chunks: the wrapper reserves capacity per call, and one call per vector would grow it one by one.
        const int chunk = 4096;
        var keys = new List<ulong>(chunk);
        var vectors = new List<float[]>(chunk);
        void Flush()
        {
            if (keys.Count == 0) return;
            index.Add([.. keys], [.. vectors]);
            keys.Clear();
            vectors.Clear();
        }
        foreach (var (seq, dense) in added)
        {
            keys.Add((ulong)seq);
            vectors.Add(dense);
            if (keys.Count == chunk) Flush();
        }
        Flush();
        index.Save(path);
    }

    public void Dispose() => _index.Dispose();
}

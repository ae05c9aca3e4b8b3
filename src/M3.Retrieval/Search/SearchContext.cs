using System.Runtime.InteropServices;
using M3.Core.Representations;
using M3.Retrieval.Storage;
using Microsoft.Data.Sqlite;

namespace M3.Retrieval.Search;

/// <summary>
/// One search's view: its snapshot, a store connection inside one read transaction (rows are read for candidates only),
/// and the vector files. A candidate whose row is gone was deleted after the snapshot was taken and is skipped.
/// Every vector read from disk is checked against its row's checksum.
/// </summary>
internal sealed class SearchContext(IndexSnapshot snapshot, IndexStore store, SqliteTransaction tx, VectorFiles vectors, ColbertPrecision colbert)
{
    private readonly Dictionary<int, IndexStore.PassageRow?> _rows = [];

    public IndexSnapshot Snapshot => snapshot;
    public IndexStore Store => store;
    public SqliteTransaction Transaction => tx;
    public ColbertPrecision ColbertPrecision => colbert;
    public int Dimension => snapshot.Dimension;

    /// <summary>Reads the rows of <paramref name="seqs"/> not read yet, all at once (see <see cref="IndexStore.Rows"/>).</summary>
    public void Prefetch(IEnumerable<int> seqs)
    {
        var missing = seqs.Where(s => !_rows.ContainsKey(s)).ToList();
        if (missing.Count == 0) return;
        var found = store.Rows(missing, tx);
        foreach (var s in missing) _rows[s] = found.GetValueOrDefault(s);
    }

    public IndexStore.PassageRow? Row(int seq)
    {
        if (!_rows.TryGetValue(seq, out var row)) _rows[seq] = row = store.Row(seq, tx);
        return row;
    }

    /// <summary>The exact dense score; rows after the base are in memory, others are read (unverified: see <see cref="VerifyDense"/>).</summary>
    public float Dense(ReadOnlySpan<float> query, int seq, Span<float> buffer)
    {
        int tail = snapshot.TailIndex(seq);
        if (tail >= 0) return M3.Core.Scoring.M3Scores.Dense(query, snapshot.TailDenseRow(tail));
        vectors.ReadDense(seq, buffer);
        return M3.Core.Scoring.M3Scores.Dense(query, buffer);
    }

    public float[] DenseRow(IndexStore.PassageRow row)
    {
        var dense = new float[Dimension];
        vectors.ReadDense(row.Seq, dense);
        RowChecksum.Verify(MemoryMarshal.AsBytes(dense.AsSpan()), row.DenseCrc, "dense vector", row.DocId, vectors.DensePath);
        return dense;
    }

    public void VerifyDense(IndexStore.PassageRow row) => DenseRow(row);

    public SparseVector Sparse(IndexStore.PassageRow row)
    {
        RowChecksum.Verify(row.Sparse, row.SparseCrc, "sparse weights", row.DocId, store.Path);
        return SparseCodec.Decode(row.Sparse);
    }

    /// <summary>
    /// The ColBERT score of a passage, <see cref="M3.Core.Scoring.M3Scores.Colbert(MultiVector, MultiVector)"/> exactly,
    /// read and decoded into this thread's buffers: a passage's rows are hundreds of KB, and allocating them per candidate
    /// (on the large object heap) made re-ranking wait on full garbage collections.
    /// </summary>
    public float ColbertScore(MultiVector query, IndexStore.PassageRow row)
    {
        int length = row.ColbertRows * ColbertCodec.BytesPerRow(colbert, Dimension), floats = row.ColbertRows * Dimension;
        if (t_bytes == null || t_bytes.Length < length) t_bytes = new byte[length];
        if (t_floats == null || t_floats.Length < floats) t_floats = new float[floats];
        var bytes = t_bytes.AsSpan(0, length);
        vectors.ReadColbert(row.ColbertOffset, bytes);
        RowChecksum.Verify(bytes, row.ColbertCrc, "ColBERT vectors", row.DocId, vectors.ColbertPath);
        var rows = t_floats.AsSpan(0, floats);
        ColbertCodec.DecodeInto(bytes, colbert, Dimension, rows);
        return M3.Core.Scoring.M3Scores.Colbert(query, rows, Dimension);
    }

    /// <summary>Starts reading the ColBERT rows of <paramref name="rows"/> ahead of scoring them (see <see cref="VectorFiles.WillRead"/>).</summary>
    public void PrefetchColbert(IEnumerable<IndexStore.PassageRow> rows) =>
        vectors.WillRead(rows.Select(r => (r.ColbertOffset, (long)r.ColbertRows * ColbertCodec.BytesPerRow(colbert, Dimension))));

    [ThreadStatic] private static byte[]? t_bytes;
    [ThreadStatic] private static float[]? t_floats;
}

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

    public MultiVector Colbert(IndexStore.PassageRow row)
    {
        var bytes = vectors.ReadColbert(row.ColbertOffset, row.ColbertRows * ColbertCodec.BytesPerRow(colbert, Dimension));
        RowChecksum.Verify(bytes, row.ColbertCrc, "ColBERT vectors", row.DocId, vectors.ColbertPath);
        return ColbertCodec.Decode(bytes, colbert, Dimension);
    }
}

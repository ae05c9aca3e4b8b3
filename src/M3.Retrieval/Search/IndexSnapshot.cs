using System.Collections.Frozen;
using M3.Core.Representations;
using M3.Retrieval.Storage;
using Microsoft.Data.Sqlite;

namespace M3.Retrieval.Search;

/// <summary>
/// What one search sees, immutable once built: the base segment (memory-mapped), the passages committed after it
/// (their postings and dense rows in memory: at most a few thousand before the writer folds them into a new base),
/// and the tombstones of passages deleted since. Built from one read transaction, so it is one committed state of the
/// store; a newer generation builds a new snapshot from this one plus what changed, and swaps it in atomically while
/// searches on the old one finish.
/// </summary>
internal sealed class IndexSnapshot
{
    public required long Generation { get; init; }
    public required BaseSegment? Base { get; init; }
    public required int Dimension { get; init; }

    /// <summary>Passages after the base, ascending.</summary>
    public required int[] TailSeqs { get; init; }
    public required float[] TailDense { get; init; }
    public required SparseVector[] TailSparse { get; init; }
    public required FrozenDictionary<int, MemoryPostingList> TailPostings { get; init; }
    public required FrozenSet<int> Tombstones { get; init; }

    /// <summary>True when some document was split into several passages (scores are then aggregated per document).</summary>
    public required bool MultiPassage { get; init; }

    public long Watermark => Base?.Watermark ?? 0;
    public long MaxSeq => TailSeqs.Length > 0 ? TailSeqs[^1] : Watermark;

    private long? _liveCount;

    /// <summary>Passages a search can return (tombstones count only where they hide a passage of this snapshot).</summary>
    public long LiveCount => _liveCount ??= (Base?.Postings.PassageCount ?? 0) + TailSeqs.Length - Tombstones.Count(Holds);

    private bool Holds(int seq) => seq > Watermark
        ? Array.BinarySearch(TailSeqs, seq) >= 0
        : Base != null && Base.Postings.Seqs.BinarySearch(seq) >= 0;

    /// <summary>Position of a passage after the base in <see cref="TailSeqs"/>, or −1.</summary>
    public int TailIndex(int seq) => seq > Watermark ? Math.Max(-1, Array.BinarySearch(TailSeqs, seq)) : -1;

    public bool IsLive(int seq) => !Tombstones.Contains(seq);

    /// <summary>Every live passage, ascending.</summary>
    public IEnumerable<int> AllLive()
    {
        if (Base != null)
            for (int i = 0; i < Base.Postings.PassageCount; i++)
            {
                int s = Base.Postings.Seqs[i];
                if (IsLive(s)) yield return s;
            }
        foreach (var s in TailSeqs) if (IsLive(s)) yield return s;
    }

    public ReadOnlySpan<float> TailDenseRow(int tailIndex) => TailDense.AsSpan(tailIndex * Dimension, Dimension);

    /// <summary>Reads the state at the current generation, reusing <paramref name="previous"/> where it is still valid.</summary>
    public static IndexSnapshot Load(IndexStore reader, SqliteTransaction tx, VectorFiles vectors, IndexSnapshot? previous, Func<long, BaseSegment?> openBase)
    {
        var (generation, watermark, multi) = reader.State(tx);
        if (previous != null && previous.Generation == generation && previous.Watermark == watermark) return previous;

        var baseSegment = previous?.Base is { } b && b.Watermark == watermark ? b : openBase(watermark);
        long from = baseSegment?.Watermark ?? 0;
        bool incremental = previous != null && previous.Base == baseSegment;

        var tombstones = incremental ? previous!.Tombstones.ToHashSet() : [];
        foreach (var s in reader.DeletedSince(incremental ? previous!.Generation : 0, tx)) tombstones.Add((int)s);

        var seqs = new List<int>();
        var sparse = new List<SparseVector>();
        var dense = new List<float>();
        if (incremental)
        {
            seqs.AddRange(previous!.TailSeqs);
            sparse.AddRange(previous.TailSparse);
            dense.AddRange(previous.TailDense);
        }
        var row = new float[vectors.Dimension];
        foreach (var (seq, _, s) in reader.PassagesAfter(incremental ? previous!.MaxSeq : from, tx))
        {
            seqs.Add((int)seq);
            sparse.Add(s);
            vectors.ReadDense(seq, row);
            dense.AddRange(row);
        }

        var lists = new Dictionary<int, (List<int> Seqs, List<float> Weights)>();
        for (int p = 0; p < seqs.Count; p++)
        {
            if (tombstones.Contains(seqs[p])) continue;
            var v = sparse[p];
            for (int i = 0; i < v.Count; i++)
            {
                if (!lists.TryGetValue(v.Ids[i], out var l)) lists[v.Ids[i]] = l = ([], []);
                l.Seqs.Add(seqs[p]);
                l.Weights.Add(v.Weights[i]);
            }
        }
        return new IndexSnapshot
        {
            Generation = generation,
            Base = baseSegment,
            Dimension = vectors.Dimension,
            TailSeqs = [.. seqs],
            TailDense = [.. dense],
            TailSparse = [.. sparse],
            TailPostings = lists.ToFrozenDictionary(kv => kv.Key, kv => new MemoryPostingList([.. kv.Value.Seqs], [.. kv.Value.Weights])),
            Tombstones = tombstones.ToFrozenSet(),
            MultiPassage = multi,
        };
    }
}

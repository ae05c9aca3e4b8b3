using System.Globalization;
using M3.Retrieval.Storage;

namespace M3.Retrieval.Search;

/// <summary>
/// The search structures for every passage up to a watermark seq: block-max postings (base.W.postings) and the dense
/// HNSW graph (base.W.usearch), both memory-mapped. They are derived data: the manifest's "base" names the current W,
/// passages above it are searched from memory (<see cref="IndexSnapshot"/>), deletes below it are tombstones, and
/// a missing, truncated or unreadable segment is ignored and rebuilt from index.db and dense.f32 (<see cref="Build"/>).
/// </summary>
internal sealed class BaseSegment : IDisposable
{
    private BaseSegment(long watermark, PostingsFile postings, DenseAnn ann)
    {
        Watermark = watermark;
        Postings = postings;
        Ann = ann;
    }

    public long Watermark { get; }
    public PostingsFile Postings { get; }
    public DenseAnn Ann { get; }

    // Searches in flight and whether a newer segment replaced this one: the last of them to let go unmaps the files,
    // so a long-running reader does not keep every replaced segment (and its disk space) until it exits.
    private int _users, _retired, _disposed;

    /// <summary>Marks the segment as in use; false when it was replaced meanwhile (take a fresh snapshot).</summary>
    public bool TryAcquire()
    {
        Interlocked.Increment(ref _users);
        if (Volatile.Read(ref _retired) == 0) return true;
        Release();
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _users) == 0 && Volatile.Read(ref _retired) == 1) Dispose();
    }

    /// <summary>No new search will use this segment; it is unmapped when the last one in flight finishes.</summary>
    public void Retire()
    {
        Interlocked.Exchange(ref _retired, 1);
        if (Volatile.Read(ref _users) == 0) Dispose();
    }

    public static string PostingsPath(string directory, long watermark) => Path.Combine(directory, $"base.{watermark.ToString(CultureInfo.InvariantCulture)}.postings");
    public static string AnnPath(string directory, long watermark) => Path.Combine(directory, $"base.{watermark.ToString(CultureInfo.InvariantCulture)}.usearch");

    /// <summary>The segment with watermark <paramref name="watermark"/>, or null when its files are missing or damaged.</summary>
    public static BaseSegment? TryOpen(string directory, long watermark)
    {
        if (watermark <= 0) return null;
        PostingsFile? postings = null;
        try
        {
            postings = PostingsFile.Open(PostingsPath(directory, watermark));
            if (postings.Watermark != watermark) throw new InvalidDataException("watermark mismatch");
            var ann = DenseAnn.View(AnnPath(directory, watermark));
            if (ann.Count < postings.PassageCount)
            {
                ann.Dispose();
                throw new InvalidDataException("ANN file holds fewer passages than the postings");
            }
            return new BaseSegment(watermark, postings, ann);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            postings?.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Writes a segment covering every live passage up to the store's last seq: the previous segment's postings and graph
    /// minus tombstones, plus the passages after it. Written under temporary names and renamed, then recorded in the manifest;
    /// older segment files are removed (processes that still map them keep their copy until they refresh).
    /// </summary>
    public static void Build(string directory, IndexStore store, VectorFiles vectors, BaseSegment? previous)
    {
        using var reader = store.OpenSibling();
        using var tx = reader.BeginRead();
        var (generation, _, _) = reader.State(tx);
        long from = previous?.Watermark ?? 0;
        var tombstones = reader.DeletedSince(0, tx).Where(s => s <= from).Select(s => (int)s).ToHashSet();
        var added = reader.PassagesAfter(from, tx).ToList();
        if (added.Count == 0 && tombstones.Count == 0 && previous != null) return;
        long watermark = added.Count > 0 ? added[^1].Seq : from;
        if (watermark == 0) return;

        var seqs = new List<int>();
        if (previous != null)
            foreach (var s in previous.Postings.Seqs) if (!tombstones.Contains(s)) seqs.Add(s);
        seqs.AddRange(added.Select(a => (int)a.Seq));

        var fresh = new SortedDictionary<int, (List<int> Seqs, List<float> Weights)>();
        foreach (var (seq, _, sparse) in added)
            for (int i = 0; i < sparse.Count; i++)
            {
                if (!fresh.TryGetValue(sparse.Ids[i], out var list)) fresh[sparse.Ids[i]] = list = ([], []);
                list.Seqs.Add((int)seq);
                list.Weights.Add(sparse.Weights[i]);
            }

        var suffix = $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        string postingsTemp = PostingsPath(directory, watermark) + suffix, annTemp = AnnPath(directory, watermark) + suffix;
        try
        {
            PostingsFile.Write(postingsTemp, watermark, seqs, Merge(previous, tombstones, fresh));
            DenseAnn.Build(annTemp, vectors.Dimension, previous == null ? null : AnnPath(directory, previous.Watermark),
                tombstones.Select(s => (long)s), added.Count, added.Select(a =>
                {
                    var row = new float[vectors.Dimension];
                    vectors.ReadDense(a.Seq, row);
                    return (a.Seq, row);
                }));
            File.Move(annTemp, AnnPath(directory, watermark), overwrite: true);
            File.Move(postingsTemp, PostingsPath(directory, watermark), overwrite: true);
        }
        finally
        {
            foreach (var f in new[] { postingsTemp, annTemp }) if (File.Exists(f)) File.Delete(f);
        }
        tx.Commit();
        store.SetBase(watermark);
        RemoveOthers(directory, watermark);
    }

    private static IEnumerable<(int Token, int[] Seqs, float[] Weights)> Merge(BaseSegment? previous, HashSet<int> tombstones,
        SortedDictionary<int, (List<int> Seqs, List<float> Weights)> fresh)
    {
        var old = previous?.Postings.All().GetEnumerator();
        bool hasOld = old?.MoveNext() ?? false;
        using var added = fresh.GetEnumerator();
        bool hasNew = added.MoveNext();
        var seqBuffer = new int[IPostingList.BlockSize];
        var weightBuffer = new float[IPostingList.BlockSize];
        while (hasOld || hasNew)
        {
            int token = !hasNew || (hasOld && old!.Current.Token < added.Current.Key) ? old!.Current.Token : added.Current.Key;
            var seqs = new List<int>();
            var weights = new List<float>();
            if (hasOld && old!.Current.Token == token)
            {
                var list = old.Current.List;
                for (int b = 0; b < list.BlockCount; b++)
                {
                    int n = list.Decode(b, seqBuffer, weightBuffer);
                    for (int i = 0; i < n; i++)
                        if (!tombstones.Contains(seqBuffer[i])) { seqs.Add(seqBuffer[i]); weights.Add(weightBuffer[i]); }
                }
                hasOld = old.MoveNext();
            }
            if (hasNew && added.Current.Key == token)
            {
                seqs.AddRange(added.Current.Value.Seqs);
                weights.AddRange(added.Current.Value.Weights);
                hasNew = added.MoveNext();
            }
            yield return (token, [.. seqs], [.. weights]);
        }
    }

    /// <summary>Deletes segment files other than the current one, and temporary files of interrupted builds.</summary>
    private static void RemoveOthers(string directory, long watermark)
    {
        var keep = new[] { PostingsPath(directory, watermark), AnnPath(directory, watermark) };
        foreach (var f in Directory.EnumerateFiles(directory, "base.*"))
            if (!keep.Contains(f))
                try { File.Delete(f); } catch (IOException) { }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        Postings.Dispose();
        Ann.Dispose();
    }
}

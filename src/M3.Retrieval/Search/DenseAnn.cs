using System.Reflection;
using System.Runtime.InteropServices;
using Cloud.Unum.USearch;

namespace M3.Retrieval.Search;

/// <summary>
/// The approximate dense index of a base segment: USearch's HNSW over float16 copies of the dense vectors (inner
/// product, keys = passage seqs). Searching opens the saved file as a memory-mapped view, so opening costs nothing in
/// proportion to the corpus; candidates it returns are re-scored exactly from the float32 vectors.
/// </summary>
internal sealed partial class DenseAnn : IDisposable
{
    // HNSW parameters: connectivity 16, expansion 64 on insertion (FAISS-like build cost) and 64 at search (USearch raises
    // it to the number of results asked: 100 candidates).
    private const ulong Connectivity = 16, ExpansionAdd = 64, ExpansionSearch = 64;
    private readonly USearchIndex _index;

    // The native index holds one search context per hardware thread, and a search finding none free fails: searches
    // beyond one per core (a server's concurrent requests) wait here for one.
    private readonly SemaphoreSlim _contexts = new(Environment.ProcessorCount);

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
        _contexts.Wait();
        try
        {
            _index.Search(query, count, out var keys, out _);
            return keys;
        }
        finally { _contexts.Release(); }
    }

    /// <summary>
    /// Writes a new ANN file: the previous segment's graph (loaded into memory, entries in <paramref name="removed"/> taken
    /// out) extended with the <paramref name="addedCount"/> vectors of <paramref name="added"/>, or a new graph when there
    /// is no previous one. Insertions run on all cores when the capacity can be reserved up front (see <see cref="TryReserve"/>).
    /// </summary>
    public static void Build(string path, int dimension, string? previous, IEnumerable<long> removed,
        int addedCount, IEnumerable<(long Seq, float[] Dense)> added)
    {
        using var index = previous != null && File.Exists(previous)
            ? new USearchIndex(previous)
            : new USearchIndex(MetricKind.Ip, ScalarKind.Float16, (ulong)dimension, Connectivity, ExpansionAdd, ExpansionSearch);
        foreach (var seq in removed)
            if (index.Contains((ulong)seq)) index.Remove((ulong)seq);
        bool parallel = Environment.ProcessorCount > 1 && TryReserve(index, index.Size() + (ulong)addedCount);
        // One thread per core at most: the native index holds one insertion context per hardware thread, and an insertion
        // finding none free fails (with "Reserve capacity ahead of insertions!").
        var threads = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        // Added in chunks: the wrapper reserves capacity per call, and one call per vector would grow it one by one.
        const int chunk = 4096;
        var keys = new List<ulong>(chunk);
        var vectors = new List<float[]>(chunk);
        void Flush()
        {
            if (keys.Count == 0) return;
            if (parallel)
                Parallel.For(0, keys.Count, threads, i => index.Add(keys[i], vectors[i]));
            else
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

    /// <summary>
    /// Reserves room for <paramref name="capacity"/> entries. USearch's native index takes concurrent insertions (one
    /// thread context per core) once its capacity is reserved, but the .NET wrapper reserves inside each Add call (not
    /// safe concurrently) and exposes no reserve of its own, so this calls the native library's usearch_reserve on the
    /// wrapper's handle. False when this wrapper version has no such handle: the build then inserts on one thread.
    /// </summary>
    private static bool TryReserve(USearchIndex index, ulong capacity)
    {
        if (typeof(USearchIndex).GetField("_index", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(index) is not IntPtr handle
            || handle == IntPtr.Zero)
            return false;
        try
        {
            NativeReserve(handle, (nuint)capacity, out var error);
            if (error != IntPtr.Zero) throw new USearchException($"USearch reserve failed: {Marshal.PtrToStringAnsi(error)}");
            return index.Capacity() >= capacity;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libusearch_c", EntryPoint = "usearch_reserve")]
    private static partial void NativeReserve(IntPtr index, nuint capacity, out IntPtr error);

    public void Dispose()
    {
        _index.Dispose();
        _contexts.Dispose();
    }
}

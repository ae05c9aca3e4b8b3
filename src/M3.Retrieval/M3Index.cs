using System.Collections.Concurrent;
using System.Globalization;
using M3.Core.Inference;
using M3.Core.Representations;
using M3.Retrieval.Search;
using M3.Retrieval.Storage;

namespace M3.Retrieval;

/// <summary>
/// A persistent BGE-M3 index in a folder: documents with their dense, sparse and ColBERT representations, searchable by
/// each and by their hybrid combination. Ingestion commits one transaction per batch. Searches are thread-safe and run
/// in parallel, each on an immutable snapshot of one committed state; writes by this or another process are picked up
/// by the next search (the manifest's generation number changes with every commit).
/// </summary>
public sealed class M3Index : IDisposable
{
    private const string FormatVersion = "2";
    private const string CompactLockName = "compact.lock";
    private readonly IndexStore _store;
    private readonly VectorFiles _vectors;
    private readonly ConcurrentBag<IndexStore> _readers = [];
    private readonly List<BaseSegment> _segments = [];
    private readonly Lock _refresh = new();
    private IndexSnapshot? _snapshot;

    private M3Index(string directory, IndexStore store, IReadOnlyDictionary<string, string> manifest)
    {
        Directory = directory;
        _store = store;
        Model = manifest["model"];
        ModelKey = manifest.GetValueOrDefault("model_key");
        HiddenSize = int.Parse(manifest["hidden_size"], CultureInfo.InvariantCulture);
        Options = new IndexOptions
        {
            Colbert = Enum.Parse<ColbertPrecision>(manifest["colbert"], ignoreCase: true),
            PassageTokens = manifest.TryGetValue("passage_tokens", out var pt) ? int.Parse(pt, CultureInfo.InvariantCulture) : null,
            PassageOverlap = int.Parse(manifest["passage_overlap"], CultureInfo.InvariantCulture),
        };
        _vectors = new VectorFiles(directory, HiddenSize, writable: !store.ReadOnly);
    }

    /// <summary>The index folder.</summary>
    public string Directory { get; }

    /// <summary>The store (tests reach its connection to simulate failures).</summary>
    internal IndexStore Store => _store;

    /// <summary>The model the documents were encoded with (folder or hub id), as given when the index was created.</summary>
    public string Model { get; }

    /// <summary>The checkpoint's content key (<see cref="M3Encoder.ContentKey"/>) when the index was created with one.</summary>
    public string? ModelKey { get; }

    /// <summary>The dimension of the stored dense and ColBERT vectors (the model's hidden size).</summary>
    public int HiddenSize { get; }

    /// <summary>The options the index was created with.</summary>
    public IndexOptions Options { get; }

    /// <summary>True when the index could only be opened for reading (read-only file system or file).</summary>
    public bool ReadOnly => _store.ReadOnly;

    /// <summary>Passages committed after the base segment that trigger folding them into a new one (searched from memory until then).</summary>
    internal int TailLimit { get; set; } = 16_384;

    /// <summary>Opens an existing index (read-only when the folder or file cannot be written).</summary>
    /// <exception cref="IndexException">No index in <paramref name="directory"/>, another format version, or a damaged,
    /// locked or unreadable file; the message names the file and what to do.</exception>
    public static M3Index Open(string directory) => Open(directory, forceReadOnly: false);

    internal static M3Index Open(string directory, bool forceReadOnly)
    {
        var store = IndexStore.Open(directory, forceReadOnly);
        try
        {
            var manifest = store.ReadManifest();
            foreach (var key in new[] { "format", "model", "hidden_size", "colbert", "passage_overlap" })
                if (!manifest.ContainsKey(key))
                    throw new IndexException($"{store.Path}: manifest lacks '{key}'; not an M3 index or a damaged one");
            if (manifest["format"] != FormatVersion)
                throw new IndexException($"{store.Path}: index format {manifest["format"]}, this version reads {FormatVersion}; build the index again with this version");
            var index = new M3Index(directory, store, manifest);
            index.RepairBase();
            return index;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the index in <paramref name="directory"/>, creating it for <paramref name="model"/> when there is none. For an
    /// existing index, <paramref name="options"/> (when given) must match the ones it was created with, and
    /// <paramref name="modelKey"/> (when both are known) must be the checkpoint it was built with.
    /// </summary>
    /// <param name="directory">The index folder; created when missing.</param>
    /// <param name="model">The model's folder or hub id, recorded for <c>m3 search</c> and <see cref="Model"/>.</param>
    /// <param name="hiddenSize">The dimension of the model's vectors (<see cref="M3Encoder.HiddenSize"/>).</param>
    /// <param name="options">Options of a new index; null: the defaults, or an existing index's own.</param>
    /// <param name="modelKey">The checkpoint's <see cref="M3Encoder.ContentKey"/>, or null when unknown.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> fail <see cref="IndexOptions.Validate"/>.</exception>
    /// <exception cref="IndexException">Options or checkpoint that differ from an existing index's, or a damaged, locked or
    /// read-only file.</exception>
    public static M3Index OpenOrCreate(string directory, string model, int hiddenSize, IndexOptions? options = null, string? modelKey = null)
    {
        options?.Validate();
        if (!File.Exists(Path.Combine(directory, IndexStore.FileName)))
        {
            var o = options ?? new IndexOptions();
            var manifest = new Dictionary<string, string>
            {
                ["format"] = FormatVersion,
                ["model"] = model,
                ["hidden_size"] = hiddenSize.ToString(CultureInfo.InvariantCulture),
                ["colbert"] = o.Colbert.ToString().ToLowerInvariant(),
                ["passage_overlap"] = o.PassageOverlap.ToString(CultureInfo.InvariantCulture),
                ["generation"] = "0",
            };
            if (o.PassageTokens is { } p) manifest["passage_tokens"] = p.ToString(CultureInfo.InvariantCulture);
            if (modelKey != null) manifest["model_key"] = modelKey;
            // False when another process created it meanwhile: then theirs is checked like any existing index.
            IndexStore.Create(directory, manifest);
        }
        var index = Open(directory);
        try
        {
            index.CheckCompatible(hiddenSize, options, modelKey);
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    private void CheckCompatible(int hiddenSize, IndexOptions? options, string? modelKey)
    {
        if (hiddenSize != HiddenSize)
            throw new IndexException($"{Directory}: the index holds {HiddenSize}-dimensional vectors (model {Model}); the encoder gives {hiddenSize}");
        CheckModelKey(modelKey);
        CheckOptions(options);
    }

    /// <summary>Throws when options for a new index were given for this existing one and differ from its own.</summary>
    internal void CheckOptions(IndexOptions? options)
    {
        if (options != null && options != Options)
            throw new IndexException($"{Directory}: the index exists with colbert {Options.Colbert.ToString().ToLowerInvariant()}, passage tokens {Options.PassageTokens?.ToString(CultureInfo.InvariantCulture) ?? "none"}, overlap {Options.PassageOverlap}; "
                + "options for a new index cannot change it: leave them out, or create a new index in another folder");
    }

    private void CheckModelKey(string? modelKey)
    {
        if (modelKey != null && ModelKey != null && modelKey != ModelKey)
            throw new IndexException($"{Directory}: the index was built with another checkpoint (model {Model}, content key {ModelKey[..12]}…, this one {modelKey[..Math.Min(12, modelKey.Length)]}…); documents from different models cannot be mixed: use the index's model or a new index");
    }

    /// <summary>Documents and passages in the index now (a document split by <see cref="IndexOptions.PassageTokens"/> has several passages).</summary>
    public (long Documents, long Passages) Count() => _store.Count();

    /// <summary>Encodes and stores a batch of documents in one transaction; a document whose id exists is replaced.</summary>
    /// <param name="documents">The batch; ids must be unique and non-empty.</param>
    /// <param name="encoder">The index's model (same hidden size and, when recorded, content key).</param>
    /// <param name="progress">Texts encoded so far (passages, when documents are split).</param>
    /// <param name="cancellationToken">Stops between forward passes; nothing of the batch is stored then.</param>
    /// <exception cref="IndexException">An empty or repeated id, another model than the index's, or a full disk, locked,
    /// damaged or read-only index.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public void Add(IReadOnlyList<IndexDocument> documents, M3Encoder encoder, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckEncoder(encoder);
        CheckIds(documents.Select(d => d.Id));
        var pieces = documents.SelectMany(d => (Options.PassageTokens is { } window
                ? Passages.Split(encoder.Tokenizer, d.Text, window, Options.PassageOverlap)
                : [d.Text]).Select((text, i) => (Doc: d, Passage: i, Text: text)))
            .ToList();
        var outputs = Options.Colbert == ColbertPrecision.None ? M3Outputs.Dense | M3Outputs.Sparse : M3Outputs.All;
        var embeddings = encoder.Encode(pieces.Select(p => p.Text).ToList(), M3EncodeOptions.Default with { Outputs = outputs }, progress, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        Write(pieces.Select((p, i) => new IndexStore.StoredPassage(p.Doc.Id, p.Passage, p.Text, p.Doc.MetadataJson, embeddings[i])).ToList());
    }

    /// <summary>
    /// Stores documents encoded elsewhere (e.g. by <c>m3 encode</c> on another machine) in one transaction: one passage
    /// each, with dense and sparse representations, and ColBERT vectors unless the index was created without them.
    /// </summary>
    /// <param name="documents">The batch; ids must be unique and non-empty.</param>
    /// <param name="modelKey">The content key of the checkpoint that encoded them, checked against the index's when both are known.</param>
    /// <exception cref="IndexException">An empty or repeated id, representations missing or of another dimension, another
    /// checkpoint than the index's, or a full disk, locked, damaged or read-only index.</exception>
    public void AddEncoded(IReadOnlyList<EncodedDocument> documents, string? modelKey = null)
    {
        CheckModelKey(modelKey);
        CheckIds(documents.Select(d => d.Id));
        Write(documents.Select(d => new IndexStore.StoredPassage(d.Id, 0, d.Text, d.MetadataJson, d.Embedding)).ToList());
    }

    private static void CheckIds(IEnumerable<string> ids)
    {
        var seen = new HashSet<string>();
        foreach (var id in ids)
        {
            if (string.IsNullOrEmpty(id)) throw new IndexException("a document has an empty id");
            if (!seen.Add(id)) throw new IndexException($"document id '{id}' appears twice in one batch");
        }
    }

    /// <summary>Stores already encoded passages in one transaction.</summary>
    internal void Write(IReadOnlyList<IndexStore.StoredPassage> passages)
    {
        bool colbert = Options.Colbert != ColbertPrecision.None;
        foreach (var p in passages)
            if (p.Embedding is not { Dense: { } d, Sparse: not null } e || d.Length != HiddenSize
                || (colbert && (e.Colbert is not { } c || c.Dimension != HiddenSize)))
                throw new IndexException($"document '{p.DocId}': expected {HiddenSize}-dimensional dense{(colbert ? ", sparse and ColBERT" : " and sparse")} representations");
        _store.Write(passages, _vectors, Options.Colbert);
        if (TailLength() > TailLimit) Compact();
    }

    /// <summary>Passages committed after the base segment (deleted ones included: an upper bound, read without a snapshot).</summary>
    private long TailLength()
    {
        var reader = Rent();
        try
        {
            using var tx = reader.BeginRead();
            return reader.LastSeq(tx) - reader.State(tx).Base;
        }
        finally { _readers.Add(reader); }
    }

    /// <summary>Deletes a document; false when no document has that id.</summary>
    public bool Delete(string id) => _store.Delete(id);

    /// <summary>The stored text and metadata of a document, or null for an unknown id.</summary>
    public (string Text, string? MetadataJson)? Get(string id) => _store.Document(id);

    /// <summary>Encodes <paramref name="query"/> and searches with it; cancellation stops the encoding. Thread-safe.</summary>
    /// <exception cref="IndexException">The encoder is another model than the index's, the mode needs ColBERT vectors the
    /// index does not store, or a stored vector fails its checksum.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<SearchHit> Search(string query, M3Encoder encoder, SearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        CheckEncoder(encoder);
        return Search(encoder.Encode([query], cancellationToken: cancellationToken)[0], options);
    }

    /// <summary>Searches with an already encoded query (the representations the mode needs). Thread-safe.</summary>
    /// <returns>At most <see cref="SearchOptions.TopK"/> documents, best first; ties go to the earlier added.</returns>
    /// <exception cref="IndexException">The mode needs ColBERT vectors the index does not store, or a stored vector fails its checksum.</exception>
    /// <exception cref="ArgumentException"><see cref="SearchOptions.TopK"/> is below 1, or the query lacks a representation the mode needs.</exception>
    public IReadOnlyList<SearchHit> Search(M3Embedding query, SearchOptions? options = null)
    {
        var reader = Rent();
        try
        {
            while (true)
            {
                using var tx = reader.BeginRead();
                var snapshot = Current(reader, tx);
                if (snapshot.Base is { } segment && !segment.TryAcquire()) continue;
                try { return Searcher.Search(new SearchContext(snapshot, reader, tx, _vectors, Options.Colbert), query, options ?? new SearchOptions()); }
                finally { snapshot.Base?.Release(); }
            }
        }
        finally { _readers.Add(reader); }
    }

    /// <summary>
    /// Folds the passages committed since the base segment into a new one (postings and HNSW graph), so searches read
    /// them from memory-mapped files instead of memory. Runs automatically when more than <see cref="TailLimit"/> passages
    /// wait; one process at a time (others skip it).
    /// </summary>
    public void Compact()
    {
        if (ReadOnly) return;
        FileStream? gate;
        try { gate = new FileStream(Path.Combine(Directory, CompactLockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { return; }
        using (gate)
        {
            var reader = Rent();
            long watermark;
            try
            {
                using var tx = reader.BeginRead();
                watermark = reader.State(tx).Base;
            }
            finally { _readers.Add(reader); }
            var previous = OpenSegment(watermark);
            if (previous != null && !previous.TryAcquire()) previous = null;
            try { BaseSegment.Build(Directory, _store, _vectors, previous); }
            finally { previous?.Release(); }
            if (previous != null && _store.ReadManifest().GetValueOrDefault("base") != previous.Watermark.ToString(CultureInfo.InvariantCulture))
            {
                lock (_segments) _segments.Remove(previous);
                previous.Retire();
            }
        }
    }

    /// <summary>Rebuilds the base segment from the store when the manifest names one whose files are missing or damaged.</summary>
    private void RepairBase()
    {
        var reader = Rent();
        try
        {
            using var tx = reader.BeginRead();
            long watermark = reader.State(tx).Base;
            tx.Commit();
            if (watermark == 0) return;
            var segment = BaseSegment.TryOpen(Directory, watermark);
            if (segment != null) { lock (_segments) _segments.Add(segment); return; }
            if (ReadOnly) return;
            // Without a usable segment every passage counts as new: Build writes a complete one from index.db and dense.f32.
            using var gate = new FileStream(Path.Combine(Directory, CompactLockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            BaseSegment.Build(Directory, _store, _vectors, null);
        }
        finally { _readers.Add(reader); }
    }

    /// <summary>The snapshot for the state <paramref name="tx"/> sees: the current one, or a refreshed one swapped in.</summary>
    private IndexSnapshot Current(IndexStore reader, Microsoft.Data.Sqlite.SqliteTransaction tx)
    {
        var (generation, watermark, _) = reader.State(tx);
        var current = Volatile.Read(ref _snapshot);
        if (current != null && current.Generation == generation && current.Watermark == watermark) return current;
        lock (_refresh)
        {
            current = _snapshot;
            if (current != null && current.Generation == generation && current.Watermark == watermark) return current;
            var fresh = IndexSnapshot.Load(reader, tx, _vectors, current != null && current.Generation < generation ? current : null, OpenSegment);
            if (current == null || fresh.Generation >= current.Generation)
            {
                Volatile.Write(ref _snapshot, fresh);
                if (current?.Base is { } replaced && replaced != fresh.Base)
                {
                    lock (_segments) _segments.Remove(replaced);
                    replaced.Retire();
                }
            }
            return fresh;
        }
    }

    /// <summary>Opens a base segment (once per watermark); a replaced one is retired when the next snapshot swaps in.</summary>
    private BaseSegment? OpenSegment(long watermark)
    {
        lock (_segments)
        {
            if (_segments.Find(s => s.Watermark == watermark) is { } open) return open;
            var segment = BaseSegment.TryOpen(Directory, watermark);
            if (segment != null) _segments.Add(segment);
            return segment;
        }
    }

    private IndexStore Rent() => _readers.TryTake(out var r) ? r : _store.OpenSibling();

    /// <summary>SQLite's own consistency check of the index file ("ok" when sound).</summary>
    public string IntegrityCheck(bool quick = false) => _store.IntegrityCheck(quick);

    private void CheckEncoder(M3Encoder encoder)
    {
        if (encoder.HiddenSize != HiddenSize)
            throw new IndexException($"the index holds {HiddenSize}-dimensional vectors (model {Model}); the encoder gives {encoder.HiddenSize}: use the index's model");
        CheckModelKey(encoder.ContentKey);
    }

    /// <summary>Closes the index's files; searches still running on other threads must have finished.</summary>
    public void Dispose()
    {
        while (_readers.TryTake(out var r)) r.Dispose();
        lock (_segments)
        {
            foreach (var s in _segments) s.Dispose();
            _segments.Clear();
        }
        _vectors.Dispose();
        _store.Dispose();
    }
}

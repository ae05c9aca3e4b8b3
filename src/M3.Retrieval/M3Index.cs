using System.Globalization;
using M3.Core.Encoding;
using M3.Core.Representations;
using M3.Retrieval.Search;
using M3.Retrieval.Storage;

namespace M3.Retrieval;

/// <summary>
/// A persistent BGE-M3 index in a folder: documents with their dense, sparse (inverted index) and ColBERT representations,
/// searchable by each and by their hybrid combination. Ingestion commits one transaction per batch.
/// </summary>
public sealed class M3Index : IDisposable
{
    private const string FormatVersion = "1";
    private readonly IndexStore _store;
    private IndexSnapshot? _snapshot;

    private M3Index(string directory, IndexStore store, IReadOnlyDictionary<string, string> manifest)
    {
        Directory = directory;
        _store = store;
        Model = manifest["model"];
        HiddenSize = int.Parse(manifest["hidden_size"], CultureInfo.InvariantCulture);
        Options = new IndexOptions
        {
            ColbertFloat16 = manifest["colbert"] == "float16",
            PassageTokens = manifest.TryGetValue("passage_tokens", out var pt) ? int.Parse(pt, CultureInfo.InvariantCulture) : null,
            PassageOverlap = int.Parse(manifest["passage_overlap"], CultureInfo.InvariantCulture),
        };
    }

    public string Directory { get; }

    /// <summary>The model the documents were encoded with (folder or hub id), as given when the index was created.</summary>
    public string Model { get; }

    public int HiddenSize { get; }
    public IndexOptions Options { get; }

    /// <summary>Opens an existing index.</summary>
    public static M3Index Open(string directory)
    {
        var store = IndexStore.Open(directory);
        var manifest = store.ReadManifest();
        foreach (var key in new[] { "format", "model", "hidden_size", "colbert", "passage_overlap" })
            if (!manifest.ContainsKey(key))
            {
                store.Dispose();
                throw new IndexException($"{Path.Combine(directory, IndexStore.FileName)}: manifest lacks '{key}'; not an M3 index or a damaged one");
            }
        if (manifest["format"] != FormatVersion)
        {
            store.Dispose();
            throw new IndexException($"{Path.Combine(directory, IndexStore.FileName)}: index format {manifest["format"]}, this version reads {FormatVersion}; build the index again with this version");
        }
        return new M3Index(directory, store, manifest);
    }

    /// <summary>Opens the index in <paramref name="directory"/>, creating it for <paramref name="model"/> when there is none.</summary>
    public static M3Index OpenOrCreate(string directory, string model, int hiddenSize, IndexOptions? options = null)
    {
        if (File.Exists(Path.Combine(directory, IndexStore.FileName))) return Open(directory);
        options ??= new IndexOptions();
        {
            var manifest = new Dictionary<string, string>
            {
                ["format"] = FormatVersion,
                ["model"] = model,
                ["hidden_size"] = hiddenSize.ToString(CultureInfo.InvariantCulture),
                ["colbert"] = options.ColbertFloat16 ? "float16" : "float32",
                ["passage_overlap"] = options.PassageOverlap.ToString(CultureInfo.InvariantCulture),
            };
            if (options.PassageTokens is { } p) manifest["passage_tokens"] = p.ToString(CultureInfo.InvariantCulture);
            IndexStore.Create(directory, manifest);
        }
        return Open(directory);
    }

    public (long Documents, long Passages) Count() => _store.Count();

    /// <summary>Encodes and stores a batch of documents in one transaction; a document whose id exists is replaced.</summary>
    public void Add(IReadOnlyList<IndexDocument> documents, M3Encoder encoder, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckEncoder(encoder);
        var seen = new HashSet<string>();
        foreach (var d in documents)
        {
            if (string.IsNullOrEmpty(d.Id)) throw new IndexException("a document has an empty id; give every document an id");
            if (!seen.Add(d.Id)) throw new IndexException($"document id '{d.Id}' appears twice in one batch; ids must be unique");
        }
        var pieces = documents.SelectMany(d => (Options.PassageTokens is { } window
                ? Passages.Split(encoder.Tokenizer, d.Text, window, Options.PassageOverlap)
                : [d.Text]).Select((text, i) => (Doc: d, Passage: i, Text: text)))
            .ToList();
        var embeddings = encoder.Encode(pieces.Select(p => p.Text).ToList(), M3EncodeOptions.Default, progress, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        Write(pieces.Select((p, i) => new IndexStore.StoredPassage(p.Doc.Id, p.Passage, p.Text, p.Doc.MetadataJson, embeddings[i])).ToList());
    }

    /// <summary>Stores already encoded passages in one transaction (every representation must be present).</summary>
    internal void Write(IReadOnlyList<IndexStore.StoredPassage> passages)
    {
        foreach (var p in passages)
            if (p.Embedding is not { Dense: { } d, Sparse: not null, Colbert: { } c } || d.Length != HiddenSize || c.Dimension != HiddenSize)
                throw new ArgumentException($"document '{p.DocId}': expected dense, sparse and {HiddenSize}-dimensional ColBERT representations");
        _store.Write(passages, Options.ColbertFloat16);
        _snapshot = null;
    }

    /// <summary>Deletes a document; false when no document has that id.</summary>
    public bool Delete(string id)
    {
        bool found = _store.Delete(id);
        if (found) _snapshot = null;
        return found;
    }

    /// <summary>The stored text and metadata of a document, or null for an unknown id.</summary>
    public (string Text, string? MetadataJson)? Get(string id) => _store.Document(id);

    /// <summary>Encodes <paramref name="query"/> and searches with it; cancellation stops the encoding.</summary>
    public IReadOnlyList<SearchHit> Search(string query, M3Encoder encoder, SearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        CheckEncoder(encoder);
        return Search(encoder.Encode([query], cancellationToken: cancellationToken)[0], options);
    }

    /// <summary>Searches with an already encoded query (all three representations).</summary>
    public IReadOnlyList<SearchHit> Search(M3Embedding query, SearchOptions? options = null)
    {
        _snapshot ??= IndexSnapshot.Load(_store, HiddenSize, Options.ColbertFloat16);
        return Searcher.Search(_snapshot, query, options ?? new SearchOptions());
    }

    /// <summary>SQLite's own consistency check of the index file ("ok" when sound).</summary>
    public string IntegrityCheck() => _store.IntegrityCheck();

    private void CheckEncoder(M3Encoder encoder)
    {
        if (encoder.HiddenSize != HiddenSize)
            throw new IndexException($"the index holds {HiddenSize}-dimensional vectors (model {Model}); the encoder gives {encoder.HiddenSize}: use the index's model");
    }

    public void Dispose() => _store.Dispose();
}

using System.Globalization;
using M3.Core.Representations;
using Microsoft.Data.Sqlite;

namespace M3.Retrieval.Storage;

/// <summary>
/// The index folder's SQLite database (index.db): the manifest, each passage's document id, text, metadata, exact sparse
/// weights, where its ColBERT rows are and a checksum per vector, and tombstones of deleted passages. SQLite because it
/// gives atomic, durable transactions without a server (one per ingested batch, so a killed process loses at most the
/// batch in flight), WAL so searches read while ingestion writes, and one portable file. The vectors themselves live in
/// <see cref="VectorFiles"/>; the search structures built from all this (<see cref="Search.BaseSegment"/>) can always be
/// rebuilt from the store.
/// </summary>
internal sealed class IndexStore : IDisposable
{
    public const string FileName = "index.db";
    /// <summary>How long a writer waits for another one before giving up (settable for tests).</summary>
    internal static int BusyTimeoutSeconds { get; set; } = 30;
    private readonly SqliteConnection _db;

    private IndexStore(SqliteConnection db, string path, bool readOnly)
    {
        _db = db;
        Path = path;
        ReadOnly = readOnly;
    }

    public string Path { get; }

    /// <summary>Opened read-only (read-only file system or file): searches work, writes fail with a clear message.</summary>
    public bool ReadOnly { get; }

    /// <summary>
    /// Opens an existing index database. Where it cannot be written (a read-only file system or file) it is opened
    /// immutable, since WAL readers otherwise need to create index.db-shm next to it.
    /// </summary>
    public static IndexStore Open(string directory, bool forceReadOnly = false)
    {
        var path = System.IO.Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new IndexException($"'{directory}' is not an index (no {FileName}); create one with 'm3 index add'");
        bool readOnly = forceReadOnly || !Writable(directory, path);
        var store = new IndexStore(Connect(path, readOnly), path, readOnly);
        try
        {
            store.Execute("SELECT COUNT(*) FROM manifest");
        }
        catch (SqliteException e)
        {
            store.Dispose();
            throw IndexStoreErrors.Describe(e, path);
        }
        return store;
    }

    private static bool Writable(string directory, string path)
    {
        try
        {
            using (File.Open(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete)) { }
            using (File.Create(System.IO.Path.Combine(directory, $".write-probe.{Environment.ProcessId}"), 1, FileOptions.DeleteOnClose)) { }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Creates the database with its schema and manifest under a temporary name and renames it into place, so a folder
    /// never holds a half-created index. When another process created the index first, false (and no temporary file left):
    /// the caller opens theirs.
    /// </summary>
    public static bool Create(string directory, IReadOnlyDictionary<string, string> manifest)
    {
        Directory.CreateDirectory(directory);
        var final = System.IO.Path.Combine(directory, FileName);
        var temp = System.IO.Path.Combine(directory, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var store = new IndexStore(Connect(temp, false, create: true), temp, false))
            {
                store.Execute("""
                    PRAGMA journal_mode=WAL;
                    CREATE TABLE manifest(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE passages(
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        doc_id TEXT NOT NULL, passage INTEGER NOT NULL, text TEXT NOT NULL, metadata TEXT, tokens INTEGER NOT NULL,
                        sparse BLOB NOT NULL, sparse_crc INTEGER NOT NULL, dense_crc INTEGER NOT NULL,
                        colbert_offset INTEGER NOT NULL, colbert_rows INTEGER NOT NULL, colbert_crc INTEGER NOT NULL,
                        UNIQUE(doc_id, passage));
                    CREATE TABLE deleted(seq INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
                    CREATE INDEX deleted_by_generation ON deleted(generation);
                    """);
                store.WriteManifest(manifest);
            }
            SqliteConnection.ClearAllPools();
            // Without overwrite, .NET moves by hard link then unlink on Unix: the first creator wins, atomically.
            try { File.Move(temp, final, overwrite: false); }
            catch (IOException) when (File.Exists(final)) { return false; }
            return true;
        }
        finally
        {
            foreach (var f in new[] { temp, temp + "-wal", temp + "-shm" })
                if (File.Exists(f)) File.Delete(f);
        }
    }

    private static SqliteConnection Connect(string path, bool readOnly, bool create = false)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = readOnly ? new Uri(System.IO.Path.GetFullPath(path)).AbsoluteUri + "?immutable=1" : path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = BusyTimeoutSeconds,
        };
        var db = new SqliteConnection(builder.ToString());
        db.Open();
        using var pragma = db.CreateCommand();
        pragma.CommandText = $"PRAGMA busy_timeout={BusyTimeoutSeconds * 1000}; PRAGMA synchronous=FULL;";
        pragma.ExecuteNonQuery();
        return db;
    }

    /// <summary>A second connection to the same file, for a reader that must not share this one's transactions.</summary>
    public IndexStore OpenSibling() => new(Connect(Path, ReadOnly), Path, ReadOnly);

    public Dictionary<string, string> ReadManifest() => Guard(() =>
    {
        using var cmd = Command("SELECT key, value FROM manifest");
        using var r = cmd.ExecuteReader();
        var result = new Dictionary<string, string>();
        while (r.Read()) result[r.GetString(0)] = r.GetString(1);
        return result;
    });

    public void WriteManifest(IReadOnlyDictionary<string, string> entries) => Guard(() =>
    {
        using var tx = _db.BeginTransaction(deferred: false);
        foreach (var (k, v) in entries) SetManifest(k, v, tx);
        tx.Commit();
    });

    private void SetManifest(string key, string value, SqliteTransaction tx)
    {
        using var cmd = Command("INSERT OR REPLACE INTO manifest(key, value) VALUES ($k, $v)", tx);
        cmd.Parameters.AddWithValue("$k", key);
        cmd.Parameters.AddWithValue("$v", value);
        cmd.ExecuteNonQuery();
    }

    private long ManifestLong(string key, SqliteTransaction? tx = null)
    {
        using var cmd = Command("SELECT value FROM manifest WHERE key = $k", tx);
        cmd.Parameters.AddWithValue("$k", key);
        return cmd.ExecuteScalar() is string s ? long.Parse(s, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>A passage ready to store: its document, position in the document, text and representations.</summary>
    public sealed record StoredPassage(string DocId, int Passage, string Text, string? Metadata, M3Embedding Embedding);

    /// <summary>
    /// Replaces the given documents' passages in one transaction: all of the batch is committed, or none. The write lock
    /// is taken first, so the vector files are written by one writer at a time, past what any committed row references.
    /// </summary>
    public void Write(IReadOnlyList<StoredPassage> passages, VectorFiles files, ColbertPrecision precision) => Guard(() =>
    {
        ThrowIfReadOnly();
        using var tx = _db.BeginTransaction(deferred: false);
        long generation = ManifestLong("generation", tx) + 1;
        foreach (var docId in passages.Select(p => p.DocId).Distinct())
            DeleteDocument(docId, generation, tx);
        long seq;
        using (var last = Command("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'passages'), 0)", tx))
            seq = (long)last.ExecuteScalar()!;
        long colbertEnd = ManifestLong("colbert_end", tx);
        using var insert = Command("""
            INSERT INTO passages(seq, doc_id, passage, text, metadata, tokens, sparse, sparse_crc, dense_crc, colbert_offset, colbert_rows, colbert_crc)
            VALUES ($seq, $doc, $passage, $text, $meta, $tokens, $sparse, $sparse_crc, $dense_crc, $colbert_offset, $colbert_rows, $colbert_crc)
            """, tx);
        bool multi = false;
        // Encoding ColBERT rows (hundreds of KB per passage) is the CPU-heavy part of a batch: done on all cores first.
        var encoded = new byte[passages.Count][];
        Parallel.For(0, passages.Count, i =>
            encoded[i] = precision == ColbertPrecision.None ? [] : ColbertCodec.Encode(passages[i].Embedding.Colbert!, precision));
        for (int i = 0; i < passages.Count; i++)
        {
            var p = passages[i];
            seq++;
            var dense = p.Embedding.Dense!;
            files.WriteDense(seq, dense);
            byte[] colbert = encoded[i];
            encoded[i] = [];
            files.WriteColbert(colbertEnd, colbert);
            var sparse = SparseCodec.Encode(p.Embedding.Sparse!);
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$seq", seq);
            insert.Parameters.AddWithValue("$doc", p.DocId);
            insert.Parameters.AddWithValue("$passage", p.Passage);
            insert.Parameters.AddWithValue("$text", p.Text);
            insert.Parameters.AddWithValue("$meta", (object?)p.Metadata ?? DBNull.Value);
            insert.Parameters.AddWithValue("$tokens", p.Embedding.TokenCount);
            insert.Parameters.AddWithValue("$sparse", sparse);
            insert.Parameters.AddWithValue("$sparse_crc", RowChecksum.Of(sparse));
            insert.Parameters.AddWithValue("$dense_crc", RowChecksum.Of(System.Runtime.InteropServices.MemoryMarshal.AsBytes(dense.AsSpan())));
            insert.Parameters.AddWithValue("$colbert_offset", colbertEnd);
            insert.Parameters.AddWithValue("$colbert_rows", precision == ColbertPrecision.None ? 0 : p.Embedding.Colbert!.Count);
            insert.Parameters.AddWithValue("$colbert_crc", RowChecksum.Of(colbert));
            insert.ExecuteNonQuery();
            colbertEnd += colbert.Length;
            multi |= p.Passage > 0;
        }
        files.Flush();
        SetManifest("generation", generation.ToString(CultureInfo.InvariantCulture), tx);
        SetManifest("colbert_end", colbertEnd.ToString(CultureInfo.InvariantCulture), tx);
        if (multi) SetManifest("multi_passage", "1", tx);
        tx.Commit();
    });

    /// <summary>Deletes a document (all its passages); false when the id is unknown.</summary>
    public bool Delete(string docId) => Guard(() =>
    {
        ThrowIfReadOnly();
        using var tx = _db.BeginTransaction(deferred: false);
        long generation = ManifestLong("generation", tx) + 1;
        bool found = DeleteDocument(docId, generation, tx);
        if (found) SetManifest("generation", generation.ToString(CultureInfo.InvariantCulture), tx);
        tx.Commit();
        return found;
    });

    private bool DeleteDocument(string docId, long generation, SqliteTransaction tx)
    {
        using var tomb = Command("INSERT INTO deleted(seq, generation) SELECT seq, $g FROM passages WHERE doc_id = $doc", tx);
        tomb.Parameters.AddWithValue("$doc", docId);
        tomb.Parameters.AddWithValue("$g", generation);
        tomb.ExecuteNonQuery();
        using var cmd = Command("DELETE FROM passages WHERE doc_id = $doc", tx);
        cmd.Parameters.AddWithValue("$doc", docId);
        return cmd.ExecuteNonQuery() > 0;
    }

    /// <summary>Records that the search structures in the folder now cover passages up to <paramref name="watermark"/>.</summary>
    public void SetBase(long watermark) => WriteManifest(new Dictionary<string, string> { ["base"] = watermark.ToString(CultureInfo.InvariantCulture) });

    public (long Documents, long Passages) Count() => Guard(() =>
    {
        using var cmd = Command("SELECT COUNT(DISTINCT doc_id), COUNT(*) FROM passages");
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1));
    });

    /// <summary>Text and metadata of a document's first passage, or null for an unknown id.</summary>
    public (string Text, string? Metadata)? Document(string docId) => Guard<(string, string?)?>(() =>
    {
        using var cmd = Command("SELECT text, metadata FROM passages WHERE doc_id = $doc ORDER BY passage LIMIT 1");
        cmd.Parameters.AddWithValue("$doc", docId);
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1)) : null;
    });

    /// <summary>SQLite's consistency check: "ok" when sound. <paramref name="quick"/> skips the index-content comparison.</summary>
    public string IntegrityCheck(bool quick = false) => Guard(() =>
    {
        using var cmd = Command(quick ? "PRAGMA quick_check" : "PRAGMA integrity_check");
        return (string)cmd.ExecuteScalar()!;
    });

    // ---- Reads for snapshots and searches; callers hold a read transaction (BeginRead) so they see one state. ----

    public SqliteTransaction BeginRead() => Guard(() => _db.BeginTransaction(deferred: true));

    /// <summary>The manifest values a snapshot is keyed on: generation, base watermark, whether any document has several passages.</summary>
    public (long Generation, long Base, bool MultiPassage) State(SqliteTransaction tx) =>
        Guard(() => (ManifestLong("generation", tx), ManifestLong("base", tx), ManifestLong("multi_passage", tx) != 0));

    /// <summary>The highest seq ever given to a passage (deleted or not).</summary>
    public long LastSeq(SqliteTransaction tx) => Guard(() =>
    {
        using var cmd = Command("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'passages'), 0)", tx);
        return (long)cmd.ExecuteScalar()!;
    });

    /// <summary>Passages with seq above <paramref name="afterSeq"/>, ascending: (seq, document id, sparse weights).</summary>
    public IEnumerable<(long Seq, string DocId, SparseVector Sparse)> PassagesAfter(long afterSeq, SqliteTransaction tx)
    {
        using var cmd = Command("SELECT seq, doc_id, sparse, sparse_crc FROM passages WHERE seq > $s ORDER BY seq", tx);
        cmd.Parameters.AddWithValue("$s", afterSeq);
        using var r = Guard(() => cmd.ExecuteReader());
        while (Guard(() => r.Read()))
        {
            var blob = (byte[])r[2];
            RowChecksum.Verify(blob, r.GetInt64(3), "sparse weights", r.GetString(1), Path);
            yield return (r.GetInt64(0), r.GetString(1), SparseCodec.Decode(blob));
        }
    }

    /// <summary>Tombstones written after <paramref name="afterGeneration"/>.</summary>
    public List<long> DeletedSince(long afterGeneration, SqliteTransaction tx) => Guard(() =>
    {
        using var cmd = Command("SELECT seq FROM deleted WHERE generation > $g", tx);
        cmd.Parameters.AddWithValue("$g", afterGeneration);
        using var r = cmd.ExecuteReader();
        var result = new List<long>();
        while (r.Read()) result.Add(r.GetInt64(0));
        return result;
    });

    /// <summary>What a search needs of one passage's row; null when it was deleted after the snapshot was taken.</summary>
    public sealed record PassageRow(long Seq, string DocId, byte[] Sparse, long SparseCrc, long DenseCrc, long ColbertOffset, int ColbertRows, long ColbertCrc);

    public PassageRow? Row(long seq, SqliteTransaction tx) => Guard(() =>
    {
        using var cmd = Command("SELECT doc_id, sparse, sparse_crc, dense_crc, colbert_offset, colbert_rows, colbert_crc FROM passages WHERE seq = $s", tx);
        cmd.Parameters.AddWithValue("$s", seq);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new PassageRow(seq, r.GetString(0), (byte[])r[1], r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt32(5), r.GetInt64(6)) : null;
    });

    /// <summary>
    /// The rows of <paramref name="seqs"/> (absent ones are missing from the result) in one statement per few hundred:
    /// re-ranking reads a row per candidate, and one statement each cost more than the scoring.
    /// </summary>
    public Dictionary<long, PassageRow> Rows(IReadOnlyList<int> seqs, SqliteTransaction tx) => Guard(() =>
    {
        var rows = new Dictionary<long, PassageRow>(seqs.Count);
        const int chunk = 500;
        for (int start = 0; start < seqs.Count; start += chunk)
        {
            // The seqs are integers formatted invariantly: nothing from outside reaches the SQL text.
            var list = string.Join(',', seqs.Skip(start).Take(chunk).Select(s => s.ToString(CultureInfo.InvariantCulture)));
            using var cmd = Command($"SELECT seq, doc_id, sparse, sparse_crc, dense_crc, colbert_offset, colbert_rows, colbert_crc FROM passages WHERE seq IN ({list})", tx);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long seq = r.GetInt64(0);
                rows[seq] = new PassageRow(seq, r.GetString(1), (byte[])r[2], r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetInt32(6), r.GetInt64(7));
            }
        }
        return rows;
    });

    /// <summary>Live passages in insertion order from <paramref name="afterSeq"/> on, up to <paramref name="maxSeq"/>: (seq, document id).</summary>
    public List<(long Seq, string DocId)> PassagesInOrder(long afterSeq, long maxSeq, int limit, SqliteTransaction tx) => Guard(() =>
    {
        using var cmd = Command("SELECT seq, doc_id FROM passages WHERE seq > $a AND seq <= $m ORDER BY seq LIMIT $n", tx);
        cmd.Parameters.AddWithValue("$a", afterSeq);
        cmd.Parameters.AddWithValue("$m", maxSeq);
        cmd.Parameters.AddWithValue("$n", limit);
        using var r = cmd.ExecuteReader();
        var result = new List<(long, string)>();
        while (r.Read()) result.Add((r.GetInt64(0), r.GetString(1)));
        return result;
    });

    private void ThrowIfReadOnly()
    {
        if (ReadOnly) throw new IOException($"{Path}: the index is read-only (file system or permissions); searching works, adding or deleting needs write access");
    }

    private T Guard<T>(Func<T> body) => IndexStoreErrors.Guard(Path, body);
    private void Guard(Action body) => IndexStoreErrors.Guard(Path, body);

    internal void Execute(string sql)
    {
        using var cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    public void Dispose() => _db.Dispose();
}

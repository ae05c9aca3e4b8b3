using M3.Core.Representations;
using Microsoft.Data.Sqlite;

namespace M3.Retrieval.Storage;

/// <summary>
/// The index folder's SQLite database (index.db). SQLite because it gives what an index of this size needs without a
/// server: atomic, durable transactions (one per ingested batch, so a killed process loses at most the batch in flight),
/// WAL so searches read while ingestion writes, B-trees for the inverted index, and a single portable file.
/// </summary>
internal sealed class IndexStore : IDisposable
{
    public const string FileName = "index.db";
    private readonly SqliteConnection _db;

    private IndexStore(SqliteConnection db) => _db = db;

    /// <summary>Opens an existing index database.</summary>
    public static IndexStore Open(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new IndexException($"'{directory}' is not an index (no {FileName}); create one with 'm3 index add'");
        var store = new IndexStore(Connect(path));
        try
        {
            // Connection settings only: opening an index takes no lock, so readers never wait on an ingest.
            store.Execute("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
            store.Execute("SELECT COUNT(*) FROM manifest");
        }
        catch (SqliteException e)
        {
            store.Dispose();
            throw new IndexException($"{path}: not a readable index database ({e.Message}); restore it from a backup or build the index again", e);
        }
        return store;
    }

    /// <summary>
    /// Creates the database with its schema and manifest under a temporary name and renames it into place,
    /// so a folder never holds a half-created index.
    /// </summary>
    public static void Create(string directory, IReadOnlyDictionary<string, string> manifest)
    {
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{FileName}.{Environment.ProcessId}.tmp");
        using (var store = new IndexStore(Connect(temp)))
        {
            store.Execute("""
                PRAGMA journal_mode=WAL;
                CREATE TABLE manifest(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE passages(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    doc_id TEXT NOT NULL, passage INTEGER NOT NULL, text TEXT NOT NULL, metadata TEXT, tokens INTEGER NOT NULL,
                    dense BLOB NOT NULL, sparse BLOB NOT NULL, colbert BLOB NOT NULL,
                    UNIQUE(doc_id, passage));
                CREATE TABLE postings(
                    token INTEGER NOT NULL, seq INTEGER NOT NULL REFERENCES passages(seq) ON DELETE CASCADE, weight REAL NOT NULL,
                    PRIMARY KEY(token, seq)) WITHOUT ROWID;
                CREATE INDEX postings_by_seq ON postings(seq);
                """);
            store.WriteManifest(manifest);
        }
        File.Move(temp, Path.Combine(directory, FileName));
    }

    private static SqliteConnection Connect(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        return db;
    }

    public Dictionary<string, string> ReadManifest()
    {
        using var cmd = Command("SELECT key, value FROM manifest");
        using var r = cmd.ExecuteReader();
        var result = new Dictionary<string, string>();
        while (r.Read()) result[r.GetString(0)] = r.GetString(1);
        return result;
    }

    public void WriteManifest(IReadOnlyDictionary<string, string> entries)
    {
        using var tx = _db.BeginTransaction();
        foreach (var (k, v) in entries)
        {
            using var cmd = Command("INSERT OR REPLACE INTO manifest(key, value) VALUES ($k, $v)", tx);
            cmd.Parameters.AddWithValue("$k", k);
            cmd.Parameters.AddWithValue("$v", v);
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>A passage ready to store: its document, position in the document, text and representations.</summary>
    public sealed record StoredPassage(string DocId, int Passage, string Text, string? Metadata, M3Embedding Embedding);

    /// <summary>Replaces the given documents' passages in one transaction: all of the batch is committed, or none.</summary>
    public void Write(IReadOnlyList<StoredPassage> passages, bool colbertAsHalf)
    {
        using var tx = _db.BeginTransaction();
        foreach (var docId in passages.Select(p => p.DocId).Distinct())
            DeleteDocument(docId, tx);
        using var insert = Command("""
            INSERT INTO passages(doc_id, passage, text, metadata, tokens, dense, sparse, colbert)
            VALUES ($doc, $passage, $text, $meta, $tokens, $dense, $sparse, $colbert) RETURNING seq
            """, tx);
        using var posting = Command("INSERT INTO postings(token, seq, weight) VALUES ($t, $s, $w)", tx);
        foreach (var p in passages)
        {
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$doc", p.DocId);
            insert.Parameters.AddWithValue("$passage", p.Passage);
            insert.Parameters.AddWithValue("$text", p.Text);
            insert.Parameters.AddWithValue("$meta", (object?)p.Metadata ?? DBNull.Value);
            insert.Parameters.AddWithValue("$tokens", p.Embedding.TokenCount);
            insert.Parameters.AddWithValue("$dense", BlobCodec.Floats(p.Embedding.Dense!));
            insert.Parameters.AddWithValue("$sparse", BlobCodec.Sparse(p.Embedding.Sparse!));
            var colbert = p.Embedding.Colbert!.Data;
            insert.Parameters.AddWithValue("$colbert", colbertAsHalf ? BlobCodec.Halves(colbert) : BlobCodec.Floats(colbert));
            long seq = (long)insert.ExecuteScalar()!;
            var sparse = p.Embedding.Sparse!;
            for (int i = 0; i < sparse.Count; i++)
            {
                posting.Parameters.Clear();
                posting.Parameters.AddWithValue("$t", sparse.Ids[i]);
                posting.Parameters.AddWithValue("$s", seq);
                posting.Parameters.AddWithValue("$w", sparse.Weights[i]);
                posting.ExecuteNonQuery();
            }
        }
        tx.Commit();
    }

    /// <summary>Deletes a document (all its passages and postings); false when the id is unknown.</summary>
    public bool Delete(string docId)
    {
        using var tx = _db.BeginTransaction();
        bool found = DeleteDocument(docId, tx);
        tx.Commit();
        return found;
    }

    private bool DeleteDocument(string docId, SqliteTransaction tx)
    {
        using var cmd = Command("DELETE FROM passages WHERE doc_id = $doc", tx);
        cmd.Parameters.AddWithValue("$doc", docId);
        return cmd.ExecuteNonQuery() > 0;
    }

    public (long Documents, long Passages) Count()
    {
        using var cmd = Command("SELECT COUNT(DISTINCT doc_id), COUNT(*) FROM passages");
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    /// <summary>Every passage in insertion order (seq), for building the in-memory search structures.</summary>
    public IEnumerable<(long Seq, string DocId, byte[] Dense, byte[] Sparse, byte[] Colbert)> ReadAll()
    {
        using var cmd = Command("SELECT seq, doc_id, dense, sparse, colbert FROM passages ORDER BY seq");
        using var r = cmd.ExecuteReader();
        while (r.Read())
            yield return (r.GetInt64(0), r.GetString(1), (byte[])r[2], (byte[])r[3], (byte[])r[4]);
    }

    /// <summary>The inverted index: (token, passage seq, weight), grouped by token, seq ascending within a token.</summary>
    public IEnumerable<(int Token, long Seq, float Weight)> ReadPostings()
    {
        using var cmd = Command("SELECT token, seq, weight FROM postings ORDER BY token, seq");
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return (r.GetInt32(0), r.GetInt64(1), r.GetFloat(2));
    }

    /// <summary>Text and metadata of a document's first passage, or null for an unknown id.</summary>
    public (string Text, string? Metadata)? Document(string docId)
    {
        using var cmd = Command("SELECT text, metadata FROM passages WHERE doc_id = $doc ORDER BY passage LIMIT 1");
        cmd.Parameters.AddWithValue("$doc", docId);
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1)) : null;
    }

    public string IntegrityCheck()
    {
        using var cmd = Command("PRAGMA integrity_check");
        return (string)cmd.ExecuteScalar()!;
    }

    private void Execute(string sql)
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

using M3.Retrieval.Storage;
using M3.Tests;
using Microsoft.Data.Sqlite;

namespace M3.Retrieval.Tests;

/// <summary>Concurrent readers and writers, several processes' views of one folder, and the store's failures as users meet them.</summary>
public sealed class StoreFaultTests : IDisposable
{
    private const int Dim = 8;
    private readonly string _dir = TestPaths.NewTempDir("m3storefault");
    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task Searches_during_ingest_and_deletes_see_committed_states_only()
    {
        using var writer = M3Index.OpenOrCreate(_dir, "synthetic", Dim);
        writer.TailLimit = 150;
        // A second instance stands for another process: it sees the writer's commits through the generation number.
        using var reader = M3Index.Open(_dir);
        // Every id ever committed (the temporary documents are committed, then deleted one by one).
        var written = Enumerable.Range(0, 10).Select(i => $"tmp{i}").ToHashSet();
        var failures = new List<Exception>();
        using var done = new CancellationTokenSource();
        var searchers = Enumerable.Range(0, 3).Select(t => Task.Run(() =>
        {
            var rng = new Random(t);
            while (!done.IsCancellationRequested)
                try
                {
                    foreach (var mode in Enum.GetValues<SearchMode>())
                    {
                        var hits = (t == 0 ? writer : reader).Search(SyntheticIndex.Embedding(rng, Dim), new SearchOptions { Mode = mode, TopK = 5 });
                        Assert.Equal(hits.Count, hits.Select(h => h.Id).Distinct().Count());
                        lock (written) Assert.All(hits, h => Assert.Contains(h.Id, written));
                    }
                }
                catch (Exception e) { lock (failures) failures.Add(e); return; }
        })).ToList();
        for (int batch = 0; batch < 40; batch++)
        {
            var ids = Enumerable.Range(batch * 10, 10).Select(i => $"doc{i}").ToList();
            lock (written) written.UnionWith(ids);
            SyntheticIndex.Fill(writer, 10, batch, "tmp");
            var rng = new Random(batch);
            writer.Write(ids.Select(id => new IndexStore.StoredPassage(id, 0, "t", null, SyntheticIndex.Embedding(rng, Dim))).ToList());
            for (int i = 0; i < 10; i++) writer.Delete($"tmp{i}");
            if (batch % 7 == 3) writer.Delete(ids[0]);
        }
        done.Cancel();
        await Task.WhenAll(searchers);
        Assert.Empty(failures);
        Assert.True(Directory.EnumerateFiles(_dir, "base.*.postings").Any(), "the writer folded passages into a segment meanwhile");
        var (docs, _) = writer.Count();
        Assert.Equal(docs, reader.Search(SyntheticIndex.Embedding(new Random(1), Dim), new SearchOptions { Mode = SearchMode.Dense, TopK = 1000, Exact = true }).Count);
    }

    [Fact]
    public void Another_instance_sees_adds_and_deletes_without_reopening()
    {
        using var a = M3Index.OpenOrCreate(_dir, "synthetic", Dim);
        using var b = M3Index.Open(_dir);
        var query = SyntheticIndex.Embedding(new Random(3), Dim);
        Assert.Empty(b.Search(query));
        SyntheticIndex.Fill(a, 5, 1);
        Assert.Equal(5, b.Search(query).Count);
        a.Delete("doc2");
        Assert.DoesNotContain(b.Search(query), h => h.Id == "doc2");
        a.Compact();
        a.Delete("doc3");
        Assert.Equal(["doc0", "doc1", "doc4"], b.Search(query, new SearchOptions { Mode = SearchMode.Dense }).Select(h => h.Id).Order());
    }

    [Fact]
    public void A_reader_lets_go_of_segments_a_writer_replaced()
    {
        using var writer = M3Index.OpenOrCreate(_dir, "synthetic", Dim);
        using var reader = M3Index.Open(_dir);
        var query = SyntheticIndex.Embedding(new Random(3), Dim);
        SyntheticIndex.Fill(writer, 20, 1, "a");
        writer.Compact();
        Assert.Equal(10, reader.Search(query).Count);
        var first = Directory.EnumerateFiles(_dir, "base.*.postings").Single();
        Assert.Contains(Path.GetFileName(first), File.ReadAllText("/proc/self/maps"));
        SyntheticIndex.Fill(writer, 20, 2, "b");
        writer.Compact();
        Assert.False(File.Exists(first));
        Assert.Equal(40, reader.Search(query, new SearchOptions { TopK = 100 }).Count);
        // The replaced segment is unmapped once no search uses it, so its disk space is freed while the reader runs.
        Assert.DoesNotContain(Path.GetFileName(first), File.ReadAllText("/proc/self/maps"));
    }

    [Fact]
    public void Two_creators_of_one_index_both_open_it_and_leave_no_temporary_file()
    {
        var indexes = new M3Index[4];
        Parallel.For(0, 4, i => indexes[i] = M3Index.OpenOrCreate(_dir, "synthetic", Dim));
        SyntheticIndex.Fill(indexes[0], 3, 1);
        Assert.All(indexes, ix => Assert.Equal((3, 3), ix.Count()));
        foreach (var ix in indexes) ix.Dispose();
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Another_model_and_changed_creation_options_are_refused()
    {
        using (var ix = M3Index.OpenOrCreate(_dir, "m", Dim, new IndexOptions { Colbert = ColbertPrecision.Int8 }, modelKey: new string('a', 64)))
            SyntheticIndex.Fill(ix, 2, 1);
        var e = Assert.Throws<IndexException>(() => M3Index.OpenOrCreate(_dir, "m", Dim, null, modelKey: new string('b', 64)));
        Assert.Contains("another checkpoint", e.Message);
        e = Assert.Throws<IndexException>(() => M3Index.OpenOrCreate(_dir, "m", Dim, new IndexOptions { Colbert = ColbertPrecision.Float16 }));
        Assert.Contains("int8", e.Message);
        using var same = M3Index.OpenOrCreate(_dir, "m", Dim, new IndexOptions { Colbert = ColbertPrecision.Int8 }, modelKey: new string('a', 64));
        Assert.Equal((2, 2), same.Count());
        Assert.Throws<ArgumentException>(() => M3Index.OpenOrCreate(Path.Combine(_dir, "new"), "m", Dim, new IndexOptions { PassageTokens = 10, PassageOverlap = 10 }));
        Assert.False(Directory.Exists(Path.Combine(_dir, "new")));
    }

    [Fact]
    public void A_read_only_index_is_searchable_and_refuses_writes_clearly()
    {
        var query = SyntheticIndex.Embedding(new Random(5), Dim);
        IReadOnlyList<SearchHit> expected;
        using (var ix = M3Index.OpenOrCreate(_dir, "synthetic", Dim))
        {
            SyntheticIndex.Fill(ix, 30, 2);
            ix.Compact();
            SyntheticIndex.Fill(ix, 5, 3, "late");
            expected = ix.Search(query);
        }
        using var ro = M3Index.Open(_dir, forceReadOnly: true);
        Assert.True(ro.ReadOnly);
        Assert.Equal(expected, ro.Search(query));
        var e = Assert.Throws<IOException>(() => ro.Delete("doc1"));
        Assert.Contains("read-only", e.Message);
        Assert.DoesNotContain("damaged", e.Message);
    }

    [Fact]
    public void A_damaged_database_is_reported_as_damaged_naming_the_file()
    {
        using (var ix = M3Index.OpenOrCreate(_dir, "synthetic", Dim)) SyntheticIndex.Fill(ix, 200, 2);
        var path = Path.Combine(_dir, IndexStore.FileName);
        var bytes = File.ReadAllBytes(path);
        for (int i = 4096; i < bytes.Length; i += 97) bytes[i] ^= 0x5a;
        File.WriteAllBytes(path, bytes);
        var e = Record.Exception(() =>
        {
            using var ix = M3Index.Open(_dir);
            if (ix.IntegrityCheck(quick: true) != "ok") throw new InvalidDataException($"{path}: damaged");
            ix.Count();
        });
        Assert.IsType<IndexException>(e);
        Assert.Contains(IndexStore.FileName, e.Message);
        Assert.Contains("damaged", e.Message);
    }

    [Fact]
    public void A_full_disk_fails_the_batch_clearly_and_keeps_earlier_ones()
    {
        using var ix = M3Index.OpenOrCreate(_dir, "synthetic", Dim);
        SyntheticIndex.Fill(ix, 10, 1);
        // SQLite reports a database that may not grow as SQLITE_FULL, as it does a full disk.
        ix.Store.Execute("PRAGMA max_page_count = " + new FileInfo(Path.Combine(_dir, IndexStore.FileName)).Length / 4096);
        var e = Assert.Throws<IOException>(() => SyntheticIndex.Fill(ix, 500, 2, "more"));
        Assert.Contains("disk is full", e.Message);
        Assert.Contains(IndexStore.FileName, e.Message);
        Assert.Equal((10, 10), ix.Count());
        Assert.Equal(10, ix.Search(SyntheticIndex.Embedding(new Random(1), Dim), new SearchOptions { TopK = 20 }).Count);
    }

    [Fact]
    public void A_locked_database_names_the_lock_and_what_to_do()
    {
        using var ix = M3Index.OpenOrCreate(_dir, "synthetic", Dim);
        using var other = new SqliteConnection($"Data Source={Path.Combine(_dir, IndexStore.FileName)};Pooling=False");
        other.Open();
        using var hold = other.BeginTransaction(deferred: false);
        int previous = IndexStore.BusyTimeoutSeconds;
        IndexStore.BusyTimeoutSeconds = 1;
        try
        {
            using var late = M3Index.Open(_dir);
            var e = Assert.Throws<IOException>(() => SyntheticIndex.Fill(late, 1, 1));
            Assert.Contains("locked by another process", e.Message);
        }
        finally { IndexStore.BusyTimeoutSeconds = previous; }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using M3.Core.Scoring;
using M3.Retrieval;

namespace M3.Bench.Index;

/// <summary>
/// The index at BGE-M3's real shapes without an encoder (<see cref="SyntheticCorpus"/>): ingest rate, bytes per passage,
/// then, in a fresh process so its memory is the index's alone, open time, RSS after open and after the queries, p50/p99
/// per mode and the ANN's recall@10 against exact dense search.
/// usage: index --synthetic [--docs 100000] [--no-colbert] [--colbert-vectors 80] [--colbert-precision float16]
///        [--queries 1000] [--dir PATH] (an existing index in --dir is reused)
/// </summary>
internal static class SyntheticIndexBench
{
    public static int Run(string[] args)
    {
        int docs = Args.Int(args, "--docs", 100_000), queries = Args.Int(args, "--queries", 1000);
        bool noColbert = args.Contains("--no-colbert");
        int colbertVectors = noColbert ? 0 : Args.Int(args, "--colbert-vectors", 80);
        var precision = noColbert ? ColbertPrecision.None
            : Enum.Parse<ColbertPrecision>(Args.String(args, "--colbert-precision") ?? "float16", ignoreCase: true);
        var dir = Args.String(args, "--dir") ?? Path.Combine(Path.GetTempPath(), $"m3-synthetic-{docs}-{precision.ToString().ToLowerInvariant()}");
        if (args.Contains("--query-only")) return Query(dir, docs, colbertVectors, queries);

        var corpus = new SyntheticCorpus(colbertVectors);
        double ingestSeconds = 0, compactSeconds = 0;
        if (!File.Exists(Path.Combine(dir, "index.db")))
        {
            var sw = Stopwatch.StartNew();
            using var index = M3Index.OpenOrCreate(dir, "synthetic-bge-m3", SyntheticCorpus.Dimension, new IndexOptions { Colbert = precision });
            // One segment at the end instead of one per 16k passages: the benchmark measures the finished index.
            index.TailLimit = int.MaxValue;
            const int batch = 1000;
            for (int start = 0; start < docs; start += batch)
            {
                int n = Math.Min(batch, docs - start);
                var encoded = new EncodedDocument[n];
                Parallel.For(0, n, i => encoded[i] = new EncodedDocument($"p{start + i}", "", corpus.Passage(start + i)));
                index.AddEncoded(encoded);
                if ((start / batch) % 20 == 0) Console.Error.Write($"\ringested {start + n}/{docs} ({sw.Elapsed.TotalSeconds:F0} s)");
            }
            ingestSeconds = sw.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"\ringested {docs} in {ingestSeconds:F0} s; building the segment (postings, HNSW)");
            sw.Restart();
            index.Compact();
            compactSeconds = sw.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"segment built in {compactSeconds:F0} s");
        }
        long bytes = new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length);

        // The query phase in a fresh process: its RSS is what opening and searching the index costs.
        var self = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (!Environment.ProcessPath!.EndsWith("M3.Bench", StringComparison.Ordinal)) self.ArgumentList.Add(typeof(SyntheticIndexBench).Assembly.Location);
        foreach (var a in new[] { "index", "--synthetic", "--query-only", "--dir", dir, "--docs", docs.ToString(CultureInfo.InvariantCulture),
                     "--colbert-vectors", colbertVectors.ToString(CultureInfo.InvariantCulture), "--queries", queries.ToString(CultureInfo.InvariantCulture) })
            self.ArgumentList.Add(a);
        using var child = Process.Start(self)!;
        var lines = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        if (child.ExitCode != 0 || lines.Length == 0) { Console.Error.WriteLine("the query process failed"); return 1; }
        foreach (var l in lines[..^1]) Console.WriteLine(l);
        var measured = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(lines[^1])!;

        var result = new Dictionary<string, object>
        {
            ["docs"] = docs,
            ["colbert"] = precision.ToString().ToLowerInvariant(),
            ["colbert_vectors"] = colbertVectors,
            ["disk_bytes_per_passage"] = Math.Round(bytes / (double)docs, 1),
        };
        if (ingestSeconds > 0)
        {
            result["ingest_passages_per_s"] = Math.Round(docs / (ingestSeconds + compactSeconds), 1);
            result["ingest_write_seconds"] = Math.Round(ingestSeconds, 1);
            result["segment_build_seconds"] = Math.Round(compactSeconds, 1);
        }
        foreach (var (k, v) in measured) result[k] = v;
        Console.WriteLine($"disk {bytes / 1e9:F2} GB = {bytes / (double)docs:F0} bytes/passage; cores {Environment.ProcessorCount}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static int Query(string dir, int docs, int colbertVectors, int queries)
    {
        var corpus = new SyntheticCorpus(colbertVectors);
        var rng = new Random(7);
        var targets = Enumerable.Range(0, queries).Select(_ => rng.Next(docs)).ToList();
        var embeddings = targets.Select(corpus.QueryFor).ToList();
        long baseline = Rss();

        var sw = Stopwatch.StartNew();
        using var index = M3Index.Open(dir);
        index.Search(embeddings[0], new SearchOptions { Mode = SearchMode.Dense });
        double open = sw.Elapsed.TotalSeconds;
        long afterOpen = Rss();

        var result = new Dictionary<string, object> { ["open_seconds"] = Math.Round(open, 3), ["rss_after_open_bytes"] = afterOpen, ["rss_before_open_bytes"] = baseline };
        var modes = new List<(string Name, SearchMode Mode)> { ("dense", SearchMode.Dense), ("sparse", SearchMode.Sparse), ("hybrid", SearchMode.Hybrid) };
        if (colbertVectors > 0) modes.Add(("colbert", SearchMode.Colbert));
        var denseHits = new List<IReadOnlyList<SearchHit>>();
        foreach (var (name, mode) in modes)
        {
            var times = new List<double>();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            foreach (var q in embeddings)
            {
                var t = Stopwatch.StartNew();
                var hits = index.Search(q, new SearchOptions { Mode = mode, TopK = 10 });
                times.Add(t.Elapsed.TotalMilliseconds);
                if (mode == SearchMode.Dense) denseHits.Add(hits);
            }
            // CPU time per query (all threads): unlike wall time, it barely depends on what else the machine runs.
            result[$"{name}_cpu_ms_per_query"] = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / embeddings.Count, 3);
            times.Sort();
            result[$"{name}_p50_ms"] = Math.Round(times[times.Count / 2], 3);
            result[$"{name}_p99_ms"] = Math.Round(times[Math.Min(times.Count - 1, (int)(times.Count * 0.99))], 3);
            Console.WriteLine($"{name,-8} p50 {times[times.Count / 2],8:F2} ms  p99 {times[Math.Min(times.Count - 1, (int)(times.Count * 0.99))],8:F2} ms");
        }
        result["rss_after_queries_bytes"] = Rss();
        result["dense_recall_at_10"] = Math.Round(Recall(dir, embeddings.Take(Math.Min(100, queries)).Select(e => e.Dense!).ToList(), denseHits), 4);
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>ANN recall@10 against exact dense top 10, computed by one sequential pass over dense.f32 for all queries.</summary>
    private static double Recall(string dir, List<float[]> queries, List<IReadOnlyList<SearchHit>> annHits)
    {
        const int dim = SyntheticCorpus.Dimension, chunkRows = 4096;
        var tops = queries.Select(_ => new PriorityQueue<int, float>()).ToList();
        using var file = File.OpenRead(Path.Combine(dir, "dense.f32"));
        var buffer = new float[chunkRows * dim];
        int row = 0;
        while (true)
        {
            int read = file.ReadAtLeast(MemoryMarshal.AsBytes(buffer.AsSpan()), buffer.Length * 4, throwOnEndOfStream: false) / (dim * 4);
            if (read == 0) break;
            Parallel.For(0, queries.Count, q =>
            {
                for (int r = 0; r < read; r++)
                {
                    float s = M3Scores.Dense(queries[q], buffer.AsSpan(r * dim, dim));
                    if (tops[q].Count < 10) tops[q].Enqueue(row + r, s);
                    else if (tops[q].TryPeek(out _, out var worst) && s > worst) tops[q].EnqueueDequeue(row + r, s);
                }
            });
            row += read;
        }
        double found = 0;
        for (int q = 0; q < queries.Count; q++)
        {
            var exact = tops[q].UnorderedItems.Select(x => $"p{x.Element}").ToHashSet();
            found += annHits[q].Count(h => exact.Contains(h.Id)) / 10.0;
        }
        return found / queries.Count;
    }

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}

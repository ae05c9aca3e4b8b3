using System.Diagnostics;
using System.Text.Json;
using M3.Core.Inference;
using M3.Retrieval;

namespace M3.Bench;

/// <summary>
/// Index benchmark: ingest and query throughput, index size per document and query latency per mode, on synthetic
/// documents encoded with the tiny fixture model (so the encoder is cheap and the index is what is measured).
/// usage: index [--docs 100000] [--queries 200] [--model DIR]; with --synthetic, BGE-M3-sized representations
/// without an encoder (<see cref="Index.SyntheticIndexBench"/>).
/// </summary>
public static class IndexBench
{
    public static int Run(string[] args)
    {
        if (args.Contains("--synthetic")) return Index.SyntheticIndexBench.Run(args);
        if (args.Contains("--colbert-agreement")) return Index.ColbertAgreement.Run(args);
        int docs = Args.Int(args, "--docs", 100_000), queries = Args.Int(args, "--queries", 200);
        var model = Args.String(args, "--model") ?? Path.Combine(Args.RepoRoot(), "tests", "fixtures", "tiny-m3");
        var pool = File.ReadLines(Path.Combine(model, "tokenizer_golden.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToList();
        string Doc(int i) => $"{pool[i % pool.Count]} {pool[(i * 31 + 7) % pool.Count]} {i}";

        var dir = Path.Combine(Path.GetTempPath(), $"m3-index-bench-{Environment.ProcessId}");
        using var encoder = M3Encoder.Load(model);
        var sw = Stopwatch.StartNew();
        using (var index = M3Index.OpenOrCreate(dir, model, encoder.HiddenSize))
        {
            const int batch = 1000;
            for (int start = 0; start < docs; start += batch)
            {
                index.Add(Enumerable.Range(start, Math.Min(batch, docs - start)).Select(i => new IndexDocument($"d{i}", Doc(i))).ToList(), encoder);
                Console.Error.Write($"\ringested {Math.Min(start + batch, docs)}/{docs}");
            }
            Console.Error.WriteLine();
        }
        double ingestSeconds = sw.Elapsed.TotalSeconds;
        long bytes = new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length);

        using var ix = M3Index.Open(dir);
        sw.Restart();
        ix.Search(encoder.Encode(["warm-up"])[0]);
        double loadSeconds = sw.Elapsed.TotalSeconds;
        var queryEmbeddings = encoder.Encode(Enumerable.Range(0, queries).Select(i => pool[(i * 97 + 3) % pool.Count]).ToList());
        var rows = new List<(string Mode, double P50, double P99)>();
        foreach (var (name, options) in new[]
        {
            ("dense", new SearchOptions { Mode = SearchMode.Dense }),
            ("sparse", new SearchOptions { Mode = SearchMode.Sparse }),
            ("colbert", new SearchOptions { Mode = SearchMode.Colbert }),
            ("hybrid", new SearchOptions { Mode = SearchMode.Hybrid }),
            ("rrf", new SearchOptions { Mode = SearchMode.Rrf }),
            ("hybrid --exact", new SearchOptions { Mode = SearchMode.Hybrid, Exact = true }),
        })
        {
            var times = new List<double>();
            foreach (var q in queryEmbeddings.Take(name.Contains("exact") ? Math.Min(queries, 20) : queries))
            {
                var t = Stopwatch.StartNew();
                ix.Search(q, options);
                times.Add(t.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            rows.Add((name, times[times.Count / 2], times[Math.Min(times.Count - 1, (int)(times.Count * 0.99))]));
        }
        Directory.Delete(dir, true);

        Console.WriteLine($"index benchmark: {docs} documents, model {Path.GetFileName(model)}, {Environment.ProcessorCount} cores");
        Console.WriteLine($"ingest: {docs / ingestSeconds:F0} docs/s ({ingestSeconds:F1} s), index {bytes / 1e6:F1} MB = {bytes / (double)docs:F0} bytes/doc, open+load {loadSeconds:F2} s");
        Console.WriteLine($"{"mode",-16}{"p50 ms",10}{"p99 ms",10}");
        foreach (var r in rows) Console.WriteLine($"{r.Mode,-16}{r.P50,10:F2}{r.P99,10:F2}");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            docs,
            ingest_docs_per_s = Math.Round(docs / ingestSeconds, 1),
            bytes_per_doc = Math.Round(bytes / (double)docs, 1),
            load_s = Math.Round(loadSeconds, 3),
            latency_ms = rows.ToDictionary(r => r.Mode, r => new { p50 = Math.Round(r.P50, 3), p99 = Math.Round(r.P99, 3) }),
        }));
        return 0;
    }
}

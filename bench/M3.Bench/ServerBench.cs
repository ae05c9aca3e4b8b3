using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using M3.Core.Inference;
using M3.Core.Representations;
using M3.Server;

namespace M3.Bench;

/// <summary>
/// Load test of the HTTP server on loopback: concurrent clients post mixed short and long texts to /v1/embeddings for a
/// bounded time; every response is checked against an offline encoding of the same text; throughput is compared with
/// offline encoding of the same inputs (batching should keep the server near it).
/// The default model is the full-size random checkpoint of the encoder benchmark (generated once, cached), because the
/// ratio is only meaningful where the model, not HTTP, is the cost, as with BGE-M3 itself; <c>--model tiny</c> takes the
/// 32-wide test fixture instead, which measures the server's own per-request overhead.
/// usage: server [--seconds 60] [--clients 32] [--texts 160] [--model full|tiny|DIR] [--precision fp32|int8]
/// </summary>
public static class ServerBench
{
    public static int Run(string[] args)
    {
        int seconds = Args.Int(args, "--seconds", 60), clients = Args.Int(args, "--clients", 32), count = Args.Int(args, "--texts", 160);
        var precision = Enum.Parse<M3Precision>(Args.String(args, "--precision") ?? "fp32", ignoreCase: true);
        var fixture = Path.Combine(Args.RepoRoot(), "tests", "fixtures", "tiny-m3");
        var model = Args.String(args, "--model") switch
        {
            null or "full" => Encoder.RandomCheckpoint.Ensure(Encoder.RandomCheckpoint.DefaultCacheRoot, fixture, 1234, Console.Out),
            "tiny" => fixture,
            var dir => dir,
        };
        var pool = File.ReadLines(Path.Combine(fixture, "tokenizer_golden.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToList();
        // Mixed inputs: mostly short lines, every tenth a long one of ~40 lines.
        var texts = Enumerable.Range(0, count).Select(i => i % 10 == 0
            ? string.Join(" ", Enumerable.Range(0, 40).Select(j => pool[(i * 41 + j) % pool.Count]))
            : pool[(i * 13) % pool.Count]).ToList();

        var encoderOptions = new M3LoadOptions { Precision = precision };
        double offlineTokensPerSecond;
        List<M3Embedding> offline;
        using (var encoder = M3Encoder.Load(model, encoderOptions))
        {
            encoder.Encode(texts.Take(16).ToList());
            var sw = Stopwatch.StartNew();
            offline = encoder.Encode(texts).ToList();
            offlineTokensPerSecond = offline.Sum(e => (long)e.TokenCount) / sw.Elapsed.TotalSeconds;
        }

        return RunAsync(model, encoderOptions, texts, offline.Select(e => e.Dense!).ToList(), offline.Select(e => e.TokenCount).ToList(),
            offlineTokensPerSecond, seconds, clients).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(string model, M3LoadOptions encoderOptions, List<string> texts, List<float[]> expected, List<int> tokenCounts,
        double offlineTokensPerSecond, int seconds, int clients)
    {
        await using var server = M3Server.Create(new ServerOptions { ModelDirectory = model, Encoder = encoderOptions, Urls = "http://127.0.0.1:0" });
        await server.StartAsync();
        await server.WaitForModelAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Addresses[0]), Timeout = TimeSpan.FromSeconds(120) };

        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        // Throughput counts what completes within the window, as load generators do: requests still in flight at the end
        // drain through ever smaller forward passes, which says nothing about the server under sustained load. Every
        // response, in the window or not, is still checked.
        long ok = 0, failed = 0, mismatched = 0, windowOk = 0, windowTokens = 0, next = 0;
        var stop = DateTime.UtcNow.AddSeconds(seconds);
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (DateTime.UtcNow < stop)
            {
                int i = (int)(Interlocked.Increment(ref next) % texts.Count);
                var t = Stopwatch.StartNew();
                try
                {
                    using var r = await http.PostAsJsonAsync("/v1/embeddings", new { input = texts[i] });
                    if (!r.IsSuccessStatusCode) { Interlocked.Increment(ref failed); continue; }
                    using var doc = JsonDocument.Parse(await r.Content.ReadAsStreamAsync());
                    var v = doc.RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
                    latencies.Add(t.Elapsed.TotalMilliseconds);
                    if (v.Length != expected[i].Length || v.Zip(expected[i]).Any(p => Math.Abs(p.First - p.Second) > 1e-5f)) Interlocked.Increment(ref mismatched);
                    else
                    {
                        Interlocked.Increment(ref ok);
                        if (DateTime.UtcNow < stop) { Interlocked.Increment(ref windowOk); Interlocked.Add(ref windowTokens, tokenCounts[i]); }
                    }
                }
                catch (HttpRequestException) { Interlocked.Increment(ref failed); }
            }
        }));
        double drain = total.Elapsed.TotalSeconds - seconds;
        var sorted = latencies.Order().ToList();
        double p50 = sorted.Count > 0 ? sorted[sorted.Count / 2] : 0, p99 = sorted.Count > 0 ? sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * 0.99))] : 0;
        double tps = windowTokens / (double)seconds;

        Console.WriteLine($"server load test: {clients} clients, {seconds} s, {texts.Count} texts, model {Path.GetFileName(model)} ({encoderOptions.Precision}), {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"requests ok",-22}{ok,12}\n{"failed / mismatched",-22}{failed,6} / {mismatched}\n{"requests/s",-22}{windowOk / (double)seconds,12:F1}\n{"drain after the window",-22}{drain,11:F1}s");
        Console.WriteLine($"{"tokens/s (server)",-22}{tps,12:F0}\n{"tokens/s (offline)",-22}{offlineTokensPerSecond,12:F0}\n{"ratio",-22}{tps / offlineTokensPerSecond,12:F2}");
        Console.WriteLine($"{"latency p50 / p99 ms",-22}{p50,6:F1} / {p99:F1}");
        var m = server.Metrics;
        double wall = total.Elapsed.TotalSeconds;
        Console.WriteLine($"{"forward passes",-22}{m.Passes,12}\n{"texts per pass",-22}{(double)(ok + failed + mismatched) / Math.Max(1, m.Passes),12:F1}");
        Console.WriteLine($"{"encoder busy",-22}{m.EncodeSeconds / wall,11:P0}\n{"tokens/s while busy",-22}{m.TokensEncoded / Math.Max(1e-9, m.EncodeSeconds),12:F0}");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = Path.GetFileName(model), precision = encoderOptions.Precision.ToString().ToLowerInvariant(), texts = texts.Count,
            clients, seconds, ok, failed, mismatched,
            requests_per_s = Math.Round(windowOk / (double)seconds, 1),
            drain_s = Math.Round(drain, 1),
            passes = m.Passes,
            encoder_busy = Math.Round(m.EncodeSeconds / wall, 3),
            tokens_per_s = Math.Round(tps, 1),
            offline_tokens_per_s = Math.Round(offlineTokensPerSecond, 1),
            ratio_to_offline = Math.Round(tps / offlineTokensPerSecond, 3),
            p50_ms = Math.Round(p50, 2), p99_ms = Math.Round(p99, 2),
        }));
        return failed == 0 && mismatched == 0 ? 0 : 1;
    }
}

using System.Diagnostics;
using System.Text.Json;
using M3.Core.Inference;

namespace M3.Bench;

/// <summary>
/// What one maximum-length document costs: encodes a single 8,192-token text (built from the golden multilingual lines) on
/// the full-size random checkpoint and reports seconds and the process's peak RSS. One precision per process, so the peak
/// belongs to that precision alone.
/// usage: long [--precision fp32|int8] [--tokens 8192]
/// </summary>
public static class LongTextBench
{
    public static int Run(string[] args)
    {
        var precision = Enum.Parse<M3Precision>(Args.String(args, "--precision") ?? "fp32", ignoreCase: true);
        int tokens = Args.Int(args, "--tokens", M3.Tokenization.XlmRobertaTokenizer.DefaultMaxLength);
        var fixture = Path.Combine(Args.RepoRoot(), "tests", "fixtures", "tiny-m3");
        var model = Encoder.RandomCheckpoint.Ensure(Encoder.RandomCheckpoint.DefaultCacheRoot, fixture, 1234, Console.Out);
        var lines = File.ReadLines(Path.Combine(fixture, "tokenizer_golden.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToList();

        using var encoder = M3Encoder.Load(model, new M3LoadOptions { Precision = precision });
        var text = string.Join(" ", Enumerable.Range(0, 4 * tokens).Select(i => lines[i % lines.Count]));
        var options = new M3EncodeOptions { MaxLength = tokens };
        encoder.Encode(["warm-up"], options);
        var sw = Stopwatch.StartNew();
        var result = encoder.Encode([text], options)[0];
        double seconds = sw.Elapsed.TotalSeconds;
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        Console.WriteLine($"one {result.TokenCount}-token text, {precision}: {seconds:F1} s, peak RSS {peak / (1024.0 * 1024 * 1024):F2} GiB");
        Console.WriteLine(JsonSerializer.Serialize(new { precision = precision.ToString().ToLowerInvariant(), tokens = result.TokenCount, seconds = Math.Round(seconds, 2), peak_rss_bytes = peak }));
        return 0;
    }
}

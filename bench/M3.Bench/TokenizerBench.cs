using System.Diagnostics;
using System.Text;
using System.Text.Json;
using M3.Tokenization;
using Microsoft.ML.Tokenizers;

namespace M3.Bench;

/// <summary>
/// Tokenizer throughput on the golden texts (ours vs Microsoft.ML.Tokenizers' SentencePiece tokenizer on the same
/// sentencepiece.bpe.model) and load time of a synthetic 250,002-piece tokenizer.json (BGE-M3's real vocabulary size).
/// Usage: tokenizer [MODEL_DIR] [--seconds S]
/// </summary>
public static class TokenizerBench
{
    public static int Run(string[] args)
    {
        string? dir = null;
        double seconds = 2.0;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--seconds" && i + 1 < args.Length) seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else dir = args[i];
        }
        dir ??= DefaultFixture();
        var texts = File.ReadLines(Path.Combine(dir, "tokenizer_golden.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToArray();
        long bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));

        var ours = XlmRobertaTokenizer.Load(dir);
        using var modelStream = File.OpenRead(Path.Combine(dir, "sentencepiece.bpe.model"));
        var ml = SentencePieceTokenizer.Create(modelStream, addBeginningOfSentence: true, addEndOfSentence: true);

        var rows = new List<(string Name, double TextsPerSecond, double MBPerSecond)>
        {
            Throughput("M3 Encode (ids, tokens, offsets)", texts, bytes, seconds, t => ours.Encode(t).Ids.Length),
            Throughput("M3 EncodeToIds", texts, bytes, seconds, t => ours.EncodeToIds(t).Length),
            Throughput("Microsoft.ML.Tokenizers EncodeToIds", texts, bytes, seconds, t => ml.EncodeToIds(t).Count),
            Throughput("Microsoft.ML.Tokenizers EncodeToTokens (tokens, offsets)", texts, bytes, seconds, t => ml.EncodeToTokens(t, out _).Count),
        };

        var fixtureJsonLoad = MedianMs(() => XlmRobertaTokenizer.FromTokenizerJson(Path.Combine(dir, "tokenizer.json")));
        var fixtureSpmLoad = MedianMs(() => XlmRobertaTokenizer.FromSentencePieceModel(Path.Combine(dir, "sentencepiece.bpe.model")));
        var synthetic = Path.Combine(Path.GetTempPath(), $"m3bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(synthetic);
        double largeLoad;
        int largeVocab;
        try
        {
            var largeJson = WriteSyntheticTokenizerJson(Path.Combine(dir, "tokenizer.json"), synthetic, 250_002);
            largeLoad = MedianMs(() => XlmRobertaTokenizer.FromTokenizerJson(largeJson));
            largeVocab = XlmRobertaTokenizer.FromTokenizerJson(largeJson).VocabularySize;
        }
        finally
        {
            Directory.Delete(synthetic, true);
        }

        Console.WriteLine($"Tokenizer throughput on {texts.Length} golden texts ({bytes / 1e6:F2} MB UTF-8), {Environment.ProcessorCount} cores, single thread");
        Console.WriteLine($"{"tokenizer",-48} {"texts/s",12} {"MB/s",8}");
        foreach (var r in rows) Console.WriteLine($"{r.Name,-48} {r.TextsPerSecond,12:N0} {r.MBPerSecond,8:F2}");
        Console.WriteLine($"{"load fixture tokenizer.json",-48} {fixtureJsonLoad,12:F1} ms");
        Console.WriteLine($"{"load fixture sentencepiece.bpe.model",-48} {fixtureSpmLoad,12:F1} ms");
        Console.WriteLine($"{$"load synthetic {largeVocab:N0}-piece tokenizer.json",-48} {largeLoad,12:F1} ms");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            benchmark = "tokenizer",
            texts = texts.Length,
            mb = bytes / 1e6,
            m3_encode_texts_per_s = rows[0].TextsPerSecond,
            m3_encode_mb_per_s = rows[0].MBPerSecond,
            m3_ids_texts_per_s = rows[1].TextsPerSecond,
            m3_ids_mb_per_s = rows[1].MBPerSecond,
            mltokenizers_texts_per_s = rows[2].TextsPerSecond,
            mltokenizers_mb_per_s = rows[2].MBPerSecond,
            mltokenizers_tokens_texts_per_s = rows[3].TextsPerSecond,
            mltokenizers_tokens_mb_per_s = rows[3].MBPerSecond,
            load_fixture_json_ms = fixtureJsonLoad,
            load_fixture_spm_ms = fixtureSpmLoad,
            load_250k_json_ms = largeLoad,
            large_vocab = largeVocab,
        }));
        return 0;
    }

    private static string DefaultFixture()
    {
        var env = Environment.GetEnvironmentVariable("M3_FIXTURE_DIR");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "tests", "fixtures", "tiny-m3");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures/tiny-m3 not found; pass a checkpoint folder");
    }

    /// <summary>Runs whole passes over the texts until <paramref name="seconds"/> have elapsed (after one warm-up pass).</summary>
    private static (string, double, double) Throughput(string name, string[] texts, long bytes, double seconds, Func<string, int> encode)
    {
        long sink = 0;
        foreach (var t in texts) sink += encode(t);
        int passes = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            foreach (var t in texts) sink += encode(t);
            passes++;
        }
        double elapsed = sw.Elapsed.TotalSeconds;
        GC.KeepAlive(sink);
        return (name, passes * texts.Length / elapsed, passes * bytes / 1e6 / elapsed);
    }

    private static double MedianMs(Action load)
    {
        load(); // JIT and file cache
        var times = new double[5];
        for (int i = 0; i < times.Length; i++)
        {
            GC.Collect();
            var sw = Stopwatch.StartNew();
            load();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    /// <summary>
    /// The fixture's tokenizer.json with its vocabulary grown to <paramref name="size"/> pieces (random multilingual
    /// pieces with plausible scores, &lt;mask&gt; moved to the last id), everything else kept as is.
    /// </summary>
    private static string WriteSyntheticTokenizerJson(string source, string directory, int size)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(source));
        var vocab = doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateArray()
            .Select(e => (e[0].GetString()!, e[1].GetDouble())).Where(p => p.Item1 != "<mask>").ToList();
        var seen = vocab.Select(p => p.Item1).ToHashSet();
        var random = new Random(42);
        const string alphabet = "abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшшщыэюяαβγδεζηθικλμνξοπρστυφχψωअआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसहの日本語中文字한국어";
        var sb = new StringBuilder();
        while (vocab.Count < size - 1)
        {
            sb.Clear();
            if (random.Next(2) == 0) sb.Append('\u2581');
            int length = random.Next(1, 9);
            for (int i = 0; i < length; i++) sb.Append(alphabet[random.Next(alphabet.Length)]);
            var piece = sb.ToString();
            if (seen.Add(piece)) vocab.Add((piece, -5 - random.NextDouble() * 12));
        }
        vocab.Add(("<mask>", 0.0));

        var path = Path.Combine(directory, "tokenizer.json");
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (property.Name == "model")
            {
                json.WriteStartObject("model");
                json.WriteString("type", "Unigram");
                json.WriteNumber("unk_id", 3);
                json.WriteStartArray("vocab");
                foreach (var (piece, score) in vocab)
                {
                    json.WriteStartArray();
                    json.WriteStringValue(piece);
                    json.WriteNumberValue(score);
                    json.WriteEndArray();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            else if (property.Name == "added_tokens")
            {
                json.WriteStartArray("added_tokens");
                foreach (var token in property.Value.EnumerateArray())
                {
                    json.WriteStartObject();
                    foreach (var field in token.EnumerateObject())
                    {
                        if (field.Name == "id" && token.GetProperty("content").GetString() == "<mask>") json.WriteNumber("id", size - 1);
                        else field.WriteTo(json);
                    }
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            else property.WriteTo(json);
        }
        json.WriteEndObject();
        return path;
    }
}

using System.Text.Json;

namespace M3.Bench.Encoder;

/// <summary>A named list of texts every engine encodes, with the batching they all share.</summary>
/// <param name="BatchSize">Texts per batch (FlagEmbedding's and the PyTorch peer's default is 16).</param>
/// <param name="MaxBatchTokens">Padded-token budget per batch, or null for count-only batching.</param>
public sealed record Workload(string Name, IReadOnlyList<string> Texts, int BatchSize, int? MaxBatchTokens)
{
    /// <summary>Writes one text per line, the format of the Python peers' TEXTS_FILE.</summary>
    public void WriteTextsFile(string path) => File.WriteAllLines(path, Texts);

    public static Workload ReadTextsFile(string name, string path, int batchSize, int? maxBatchTokens) =>
        new(name, File.ReadAllLines(path), batchSize, maxBatchTokens);
}

/// <summary>
/// The encoder benchmark's two workloads, built deterministically from the fixture's tokenizer golden file (multilingual gettext lines):
/// short texts as they are, and documents made by joining consecutive lines of one language run.
/// </summary>
public static class Workloads
{
    public const string Short = "short";
    public const string Docs = "docs";

    /// <summary>Short texts: the first <paramref name="count"/> golden texts (2,000 full, 400 quick).</summary>
    public static Workload ShortTexts(IReadOnlyList<GoldenLine> golden, int count) =>
        new(Short, golden.Take(count).Select(g => OneLine(g.Text)).ToList(), BatchSize: 16, MaxBatchTokens: null);

    /// <summary>
    /// <paramref name="count"/> documents whose lengths spread evenly over [<paramref name="minTokens"/>, <paramref name="maxTokens"/>]
    /// (estimated from the golden ids; the real count after re-tokenizing the joined text differs by a few tokens).
    /// Lines come after the short workload's, so the two workloads share no text. Batched by token budget: long documents
    /// would otherwise pad 16 texts to the longest one.
    /// </summary>
    public static Workload Documents(IReadOnlyList<GoldenLine> golden, int skip, int count, int minTokens, int maxTokens, int maxBatchTokens)
    {
        var docs = new List<string>(count);
        var next = skip;
        for (var d = 0; d < count; d++)
        {
            var target = minTokens + (count == 1 ? 0 : (long)(maxTokens - minTokens) * d / (count - 1));
            var parts = new List<string>();
            var tokens = 2; // <s> and </s>
            while (tokens < target)
            {
                if (next >= golden.Count) throw new InvalidOperationException($"the golden file has too few lines for {count} documents of up to {maxTokens} tokens");
                var line = golden[next++];
                parts.Add(OneLine(line.Text));
                tokens += line.Ids.Length - 2;
            }
            docs.Add(string.Join(' ', parts));
        }
        return new(Docs, docs, BatchSize: 16, MaxBatchTokens: maxBatchTokens);
    }

    /// <summary>The peers read one text per line, so line breaks inside a text become spaces for every engine alike.</summary>
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    public static IReadOnlyList<GoldenLine> ReadGolden(string path) =>
        File.ReadLines(path).Select((line, i) =>
            JsonSerializer.Deserialize<GoldenLine>(line, JsonOptions) ?? throw new InvalidDataException($"{path}:{i + 1}: empty line")).ToList();

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };
}

/// <summary>One line of tokenizer_golden.jsonl.</summary>
public sealed record GoldenLine(string Lang, string Text, int[] Ids);

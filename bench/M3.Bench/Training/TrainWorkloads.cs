using System.Text.Json;
using M3.Tokenization;

namespace M3.Bench.Training;

/// <summary>
/// The benchmark's two data files, FlagEmbedding format: <b>short</b>, the first examples of debian-l10n's train.jsonl as
/// they are (UI strings), and <b>long</b>, the same queries with every passage made of consecutive train passages joined
/// until it reaches 256 tokens (truncated there by passage_max_len).
/// </summary>
public static class TrainWorkloads
{
    public const int PassageTokens = 256;

    public static string WriteShort(string trainFile, int examples, string directory)
    {
        var path = Path.Combine(directory, "train-short.jsonl");
        File.WriteAllLines(path, File.ReadLines(trainFile).Where(l => l.Trim().Length > 0).Take(examples));
        return path;
    }

    public static string WriteLong(string trainFile, int examples, int groupSize, XlmRobertaTokenizer tokenizer, string directory)
    {
        var lines = File.ReadLines(trainFile).Where(l => l.Trim().Length > 0).Take(examples * 40).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var pool = lines.SelectMany(e => e.GetProperty("pos").EnumerateArray().Concat(e.GetProperty("neg").EnumerateArray())).Select(p => p.GetString()!).ToList();
        var next = 0;
        string Passage()
        {
            var parts = new List<string>();
            while (tokenizer.EncodeToIds(string.Join(" ", parts), PassageTokens + 8).Length < PassageTokens) parts.Add(pool[next++ % pool.Count]);
            return string.Join(" ", parts);
        }
        var path = Path.Combine(directory, "train-long.jsonl");
        File.WriteAllLines(path, lines.Take(examples).Select(e => JsonSerializer.Serialize(new
        {
            query = e.GetProperty("query").GetString(),
            pos = new[] { Passage() },
            neg = Enumerable.Range(0, groupSize - 1).Select(_ => Passage()).ToArray(),
        })));
        return path;
    }
}

using System.Text.Json;

namespace M3.Retrieval.Evaluation;

/// <summary>Reads BEIR/MIRACL-format files: queries.jsonl (<c>_id</c>, <c>text</c>) and qrels TSV (<c>query-id corpus-id score</c>).</summary>
internal static class BeirData
{
    public static IReadOnlyList<(string Id, string Text)> ReadQueries(string path)
    {
        RequireFile(path, "queries JSON Lines file ({\"_id\": ..., \"text\": ...} per line)");
        var result = new List<(string, string)>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                var id = root.GetProperty("_id").ToString();
                result.Add((id, root.GetProperty("text").GetString() ?? throw new FormatException("\"text\" is null")));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new IndexException($"{path}:{line}: expected {{\"_id\": ..., \"text\": \"...\"}} ({e.Message})");
            }
        }
        return result;
    }

    /// <summary>query id → (document id → grade). A header line (query-id ...) is skipped.</summary>
    public static IReadOnlyDictionary<string, Dictionary<string, int>> ReadQrels(string path)
    {
        RequireFile(path, "qrels file (query-id<TAB>corpus-id<TAB>score per line)");
        var result = new Dictionary<string, Dictionary<string, int>>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var parts = text.Split('\t');
            if (line == 1 && parts[0] == "query-id") continue;
            if (parts.Length < 3 || !int.TryParse(parts[^1], out var grade))
                throw new IndexException($"{path}:{line}: expected 'query-id<TAB>corpus-id<TAB>score'");
            if (!result.TryGetValue(parts[0], out var docs)) result[parts[0]] = docs = [];
            docs[parts[1]] = grade;
        }
        return result;
    }

    private static void RequireFile(string path, string what)
    {
        if (!File.Exists(path)) throw new IndexException($"'{path}' does not exist; expected a BEIR {what}");
    }
}

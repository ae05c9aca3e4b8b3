using System.Text.Json;

namespace M3.Core.Training.Data;

/// <summary>
/// Reads FlagEmbedding's training JSON Lines: <c>{"query": str, "pos": [str, ...], "neg": [str, ...]}</c> with optional
/// <c>pos_scores</c>/<c>neg_scores</c> (one number per passage); other fields are ignored. Folders contribute their
/// <c>.json</c>/<c>.jsonl</c> files in name order (FlagEmbedding lists them unordered; a fixed order keeps runs reproducible).
/// </summary>
internal static class TrainingDataReader
{
    /// <summary>Reads every example of <paramref name="paths"/> (files or folders); bad input fails with file:line and the fix.</summary>
    /// <param name="requireScores">True when teacher scores will be used: every line must have them.</param>
    public static List<TrainingExample> Read(IEnumerable<string> paths, bool requireScores)
    {
        var examples = new List<TrainingExample>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var files = Directory.EnumerateFiles(path)
                    .Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
                    .Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0) throw new InvalidDataException($"training data folder '{path}' has no .jsonl or .json files");
                foreach (var file in files) ReadFile(file, requireScores, examples);
            }
            else if (File.Exists(path)) ReadFile(path, requireScores, examples);
            else throw new FileNotFoundException($"training data '{path}' does not exist (expected a JSON Lines file or a folder of them)", path);
        }
        if (examples.Count == 0) throw new InvalidDataException($"no training examples in {string.Join(", ", paths)}");
        return examples;
    }

    private static void ReadFile(string path, bool requireScores, List<TrainingExample> examples)
    {
        using var reader = new StreamReader(path);
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var source = $"{path}:{lineNo}";
            try
            {
                using var doc = JsonDocument.Parse(line);
                examples.Add(Parse(doc.RootElement, source, requireScores));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source}: invalid JSON ({e.Message})", e);
            }
        }
    }

    private static TrainingExample Parse(JsonElement root, string source, bool requireScores)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw Bad(source, $"expected a JSON object {{\"query\", \"pos\", \"neg\"}}, got {root.ValueKind}");
        if (!root.TryGetProperty("query", out var q) || q.ValueKind != JsonValueKind.String)
            throw Bad(source, "expected a string field \"query\"");
        var positives = Strings(root, "pos", source);
        var negatives = Strings(root, "neg", source);
        if (positives.Count == 0) throw Bad(source, "\"pos\" is empty: every example needs at least one positive passage");
        if (negatives.Count == 0) throw Bad(source, "\"neg\" is empty: every example needs at least one negative passage (they are repeated to fill a group)");
        var posScores = Scores(root, "pos_scores", positives.Count, "pos", source, requireScores);
        var negScores = Scores(root, "neg_scores", negatives.Count, "neg", source, requireScores);
        return new TrainingExample(q.GetString()!, positives, negatives, posScores, negScores, source);
    }

    private static List<string> Strings(JsonElement root, string name, string source)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Bad(source, $"expected \"{name}\": a list of strings");
        var list = new List<string>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Bad(source, $"\"{name}\" must hold strings only, found {item.ValueKind}");
            list.Add(item.GetString()!);
        }
        return list;
    }

    private static List<float>? Scores(JsonElement root, string name, int count, string passages, string source, bool required)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
            return required ? throw Bad(source, $"no \"{name}\": --teacher-scores needs \"pos_scores\" and \"neg_scores\" on every line") : null;
        if (array.ValueKind != JsonValueKind.Array) throw Bad(source, $"\"{name}\" must be a list of numbers");
        var list = new List<float>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number) throw Bad(source, $"\"{name}\" must hold numbers only, found {item.ValueKind}");
            list.Add(item.GetSingle());
        }
        if (list.Count != count) throw Bad(source, $"\"{name}\" has {list.Count} numbers but \"{passages}\" has {count} passages: one score per passage");
        return list;
    }

    private static InvalidDataException Bad(string source, string message) => new($"{source}: {message}");
}

using System.Text.Json;

namespace M3.Cli.Infrastructure;

/// <summary>Reads a JSON Lines file, one object per non-blank line, failing with the file name and line number.</summary>
internal static class JsonLinesReader
{
    /// <summary>Yields (line number, object) for every non-blank line of <paramref name="path"/> ("-" = stdin).</summary>
    public static IEnumerable<(int Line, JsonElement Value)> Read(string path)
    {
        if (path != "-" && !File.Exists(path)) throw new CliError($"input file '{path}' does not exist");
        using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(path);
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement value;
            try
            {
                using var doc = JsonDocument.Parse(line);
                value = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new CliError($"{path}:{lineNo}: invalid JSON ({e.Message})");
            }
            if (value.ValueKind != JsonValueKind.Object)
                throw new CliError($"{path}:{lineNo}: expected a JSON object, got {value.ValueKind}");
            yield return (lineNo, value);
        }
    }

    /// <summary>The string field <paramref name="name"/> of a line's object, or a clear error naming the line.</summary>
    public static string RequireString(this JsonElement obj, string name, string path, int line)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
            throw new CliError($"{path}:{line}: expected a string field \"{name}\"");
        return v.GetString()!;
    }
}

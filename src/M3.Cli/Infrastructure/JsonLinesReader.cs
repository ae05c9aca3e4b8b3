using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace M3.Cli.Infrastructure;

/// <summary>
/// Reads a UTF-8 JSON Lines file, one object per non-blank line, failing with the file name and line number.
/// Lines are split as bytes and checked one by one: a decoding reader would replace invalid UTF-8 silently (or, set to
/// throw, report it on whichever earlier line made it decode the buffer), and texts must reach the model as written.
/// </summary>
internal static class JsonLinesReader
{
    private const string Fix = "save the file as UTF-8 (e.g. iconv -f <encoding> -t UTF-8), or fix or remove that line";

    /// <summary>Yields (line number, object) for every non-blank line of <paramref name="path"/> ("-" = stdin).</summary>
    public static IEnumerable<(int Line, JsonElement Value)> Read(string path)
    {
        if (path != "-" && !File.Exists(path)) throw new CliError($"input file '{path}' does not exist");
        using var stream = path == "-" ? Console.OpenStandardInput() : File.OpenRead(path);
        var lineNo = 0;
        foreach (var line in ReadLines(stream))
        {
            lineNo++;
            var bytes = lineNo == 1 && line.AsSpan().StartsWith("\uFEFF"u8) ? line.AsMemory(3) : line.AsMemory();
            if (!Utf8.IsValid(bytes.Span))
                throw new CliError($"{path}:{lineNo}: invalid UTF-8 at byte {InvalidByteOffset(bytes.Span) + 1} of the line; {Fix}");
            if (IsBlank(bytes.Span)) continue;
            JsonElement value;
            try
            {
                using var doc = JsonDocument.Parse(bytes);
                value = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new CliError($"{path}:{lineNo}: invalid JSON ({e.Message})");
            }
            if (value.ValueKind != JsonValueKind.Object)
                throw new CliError($"{path}:{lineNo}: expected a JSON object, got {value.ValueKind}");
            if (FindLoneSurrogate(value) is { } where)
                throw new CliError(
                    $"{path}:{lineNo}: {where} holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), which is no text; {Fix}");
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

    /// <summary>Each line's bytes without its "\n" or "\r\n".</summary>
    private static IEnumerable<byte[]> ReadLines(Stream stream)
    {
        var buffer = new byte[1 << 16];
        var line = new ArrayBufferWriter<byte>();
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            var chunk = buffer.AsMemory(0, n);
            int newline;
            while ((newline = chunk.Span.IndexOf((byte)'\n')) >= 0)
            {
                line.Write(chunk.Span[..newline]);
                yield return TrimCarriageReturn(line.WrittenSpan);
                line.ResetWrittenCount();
                chunk = chunk[(newline + 1)..];
            }
            line.Write(chunk.Span);
        }
        if (line.WrittenCount > 0) yield return TrimCarriageReturn(line.WrittenSpan);
    }

    /// <summary>Whitespace only; decoded only when a non-ASCII character could be Unicode whitespace, to spare a copy per line.</summary>
    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        var first = line.IndexOfAnyExcept(" \t\r\f\v"u8);
        return first < 0 || line[first] >= 0x80 && string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(line));
    }

    private static byte[] TrimCarriageReturn(ReadOnlySpan<byte> line) =>
        (line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line).ToArray();

    private static int InvalidByteOffset(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) == OperationStatus.Done) offset += consumed;
        return offset;
    }

    /// <summary>
    /// Where a string value or property name holds a lone surrogate: JSON's \u escapes can spell one, the parser accepts
    /// it, and only reading the string fails (with no file or line), so every string is read here once.
    /// </summary>
    private static string? FindLoneSurrogate(JsonElement element, string at = "the line")
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    element.GetString();
                    return null;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        at = "a field name";
                        if (FindLoneSurrogate(property.Value, $"field \"{property.Name}\"") is { } found) return found;
                    }
                    return null;
                case JsonValueKind.Array:
                    var index = 0;
                    foreach (var item in element.EnumerateArray())
                        if (FindLoneSurrogate(item, $"{at}[{index++}]") is { } found) return found;
                    return null;
                default:
                    return null;
            }
        }
        catch (InvalidOperationException)
        {
            return at;
        }
    }
}

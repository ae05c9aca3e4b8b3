using System.Text.Json;

namespace M3.Tokenization.Formats;

/// <summary>Reads the one setting the tokenizer takes from tokenizer_config.json: model_max_length.</summary>
internal static class TokenizerConfigReader
{
    private const int DefaultMaxLength = XlmRobertaTokenizer.DefaultMaxLength;

    /// <summary>model_max_length from <paramref name="path"/> when the file exists and sets a usable value, else BGE-M3's 8,192.</summary>
    public static int ReadModelMaxLength(string path)
    {
        if (!File.Exists(path)) return DefaultMaxLength;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            // transformers writes 1e30 when no limit is known: treat anything that is not a sane int as unset.
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("model_max_length", out var v)
                && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int max) && max >= 2)
                return max;
            return DefaultMaxLength;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}); expected a tokenizer_config.json object", e);
        }
    }
}

using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using M3.Core.Serialization;

namespace M3.Server.Contracts;

/// <summary>
/// A string or an array of strings, as OpenAI's <c>input</c> takes it. Hand-written because the two shapes share one
/// field and each element's failure must name its index.
/// </summary>
internal sealed class TextsConverter : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return [StrictStringConverter.ReadText(ref reader)];
        if (reader.TokenType != JsonTokenType.StartArray) throw new RequestFieldException("must be a string or an array of strings");
        var texts = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new RequestFieldException($"must contain only strings (item {texts.Count} is not one; token arrays are not accepted)");
            texts.Add(StrictStringConverter.ReadText(ref reader, texts.Count));
        }
        return texts;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, ServerJsonContext.Default.IReadOnlyListString);
}

/// <summary>Strings that are valid Unicode: a lone surrogate (<c>"\ud800"</c>) or invalid UTF-8 is the client's error, not text.</summary>
internal sealed class StrictStringConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new RequestFieldException("must be a string");
        return ReadText(ref reader);
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    /// <param name="item">The array index, named in the message, when the string is an array's item.</param>
    public static string ReadText(ref Utf8JsonReader reader, int? item = null)
    {
        string where = item is { } i ? $"item {i} " : "";
        string text;
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new RequestFieldException($"{where}is not valid text: it holds invalid UTF-8 or an escaped lone surrogate");
        }
        if (FirstLoneSurrogate(text) is { } at)
            throw new RequestFieldException($"{where}is not valid text: a lone surrogate at character {at}");
        return text;
    }

    private static int? FirstLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return i;
        }
        return null;
    }
}

internal sealed class EmbeddingVectorConverter : JsonConverter<EmbeddingVector>
{
    public override EmbeddingVector Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

    public override void Write(Utf8JsonWriter writer, EmbeddingVector value, JsonSerializerOptions options)
    {
        if (value.Base64) writer.WriteBase64StringValue(MemoryMarshal.AsBytes(value.Values.AsSpan()));
        else EmbeddingJson.WriteVector(writer, value.Values);
    }
}

/// <summary>Writes with <see cref="EmbeddingJson"/> so that /embed, /score and /tokenize keep the CLI's JSON Lines shapes.</summary>
internal sealed class EmbedItemConverter : JsonConverter<EmbedItem>
{
    public override EmbedItem Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

    public override void Write(Utf8JsonWriter writer, EmbedItem value, JsonSerializerOptions options) =>
        EmbeddingJson.Write(writer, value.Embedding, value.TokenOf);
}

internal sealed class ScoreItemConverter : JsonConverter<ScoreItem>
{
    public override ScoreItem Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

    public override void Write(Utf8JsonWriter writer, ScoreItem value, JsonSerializerOptions options) => EmbeddingJson.WriteScores(writer, value.Scores);
}

internal sealed class TokenizeItemConverter : JsonConverter<TokenizeItem>
{
    public override TokenizeItem Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

    public override void Write(Utf8JsonWriter writer, TokenizeItem value, JsonSerializerOptions options) => EmbeddingJson.WriteTokens(writer, value.Tokens);
}

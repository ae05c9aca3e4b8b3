using System.Text.Json.Serialization;
using M3.Core.Representations;
using M3.Core.Scoring;
using M3.Tokenization;

namespace M3.Server.Contracts;

internal sealed record EmbeddingsResponse(EmbeddingsItem[] Data, string Model, EmbeddingsUsage Usage)
{
    [JsonPropertyOrder(-1)]
    public string Object => "list";
}

internal sealed record EmbeddingsItem(int Index, EmbeddingVector Embedding)
{
    [JsonPropertyOrder(-1)]
    public string Object => "embedding";
}

internal sealed record EmbeddingsUsage([property: JsonPropertyName("prompt_tokens")] int PromptTokens, [property: JsonPropertyName("total_tokens")] int TotalTokens);

/// <summary>A dense vector written as a JSON array of floats or, for <c>encoding_format: base64</c>, as base64 of its float32 bytes.</summary>
[JsonConverter(typeof(EmbeddingVectorConverter))]
internal sealed record EmbeddingVector(float[] Values, bool Base64);

/// <summary>One /embed item: the representations asked for, as <c>m3 encode</c> writes them.</summary>
[JsonConverter(typeof(EmbedItemConverter))]
internal sealed record EmbedItem(M3Embedding Embedding, Func<int, string>? TokenOf);

[JsonConverter(typeof(ScoreItemConverter))]
internal sealed record ScoreItem(PairScores Scores);

[JsonConverter(typeof(TokenizeItemConverter))]
internal sealed record TokenizeItem(TokenizedText Tokens);

internal sealed record SearchResponse(SearchHitItem[] Hits);

internal sealed record SearchHitItem(string Id, float Score);

internal sealed record HealthResponse(string Status);

using System.Text.Json.Serialization;

namespace M3.Server.Contracts;

/// <summary>
/// Source-generated (de)serialization of every request and response body: no reflection per request. Names of more than
/// one word are also spelled out with [JsonPropertyName], so that an app's own JSON options (which OpenAPI reads) keep them.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(StrictStringConverter)])]
[JsonSerializable(typeof(EmbeddingsRequest))]
[JsonSerializable(typeof(EmbedRequest))]
[JsonSerializable(typeof(ScoreRequest))]
[JsonSerializable(typeof(TokenizeRequest))]
[JsonSerializable(typeof(SearchRequest))]
[JsonSerializable(typeof(EmbeddingsResponse))]
[JsonSerializable(typeof(EmbedItem[]))]
[JsonSerializable(typeof(ScoreItem[]))]
[JsonSerializable(typeof(TokenizeItem[]))]
[JsonSerializable(typeof(SearchResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;

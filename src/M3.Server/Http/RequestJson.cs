using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using M3.Server.Contracts;
using Microsoft.AspNetCore.Http;

namespace M3.Server.Http;

/// <summary>
/// Reads a request body into its typed contract, turning every malformed part into a 400 that names the field (with its
/// index in arrays) and says what was expected. The body is read whatever its Content-Type, as <c>curl -d</c> sends it.
/// </summary>
internal static class RequestJson
{
    public static async Task<T> ReadAsync<T>(HttpContext ctx) where T : class
    {
        var info = ServerJson.Info<T>();
        try
        {
            return await JsonSerializer.DeserializeAsync(ctx.Request.Body, info, ctx.RequestAborted)
                ?? throw new ApiError(400, "the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new ApiError(400, Describe(e, info));
        }
    }

    private static string Describe(JsonException e, JsonTypeInfo root)
    {
        // A syntax error comes from the reader, wrapped; a value of the wrong kind is thrown by a converter directly.
        if (e.InnerException is JsonException syntax) return $"the request body is not valid JSON ({syntax.Message})";
        var field = e.Path is { Length: > 2 } p ? p[2..].Replace("['", "").Replace("']", "") : null;
        if (field == null) return "the request body must be a JSON object";
        if (e is RequestFieldException) return $"\"{field}\" {e.Message}";
        return $"\"{field}\" must be {Expected(root, e.Path!)}";
    }

    /// <summary>What the contract's type at a JSON path ("$.pairs[0].query") is, in words.</summary>
    private static string Expected(JsonTypeInfo root, string path)
    {
        var type = root.Type;
        foreach (var step in path[1..].Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = step.Split('[')[0];
            var property = ServerJson.Options.GetTypeInfo(type).Properties.FirstOrDefault(x => x.Name == name);
            if (property == null) return "of another kind";
            type = property.PropertyType;
            for (int brackets = step.Count(c => c == '['); brackets > 0; brackets--) type = type.GetElementType() ?? type;
        }
        return Describe(Nullable.GetUnderlyingType(type) ?? type);
    }

    private static string Describe(Type type) =>
        type == typeof(bool) ? "true or false"
        : type == typeof(int) ? "an integer"
        : type == typeof(float) ? "a number"
        : type == typeof(string) ? "a string"
        : type == typeof(float[]) ? "an array of numbers"
        : type == typeof(ScorePair) ? "an object {\"query\": \"...\", \"passage\": \"...\"}"
        : type.IsArray ? $"an array of items, each {Describe(type.GetElementType()!)}"
        : "an object";
}

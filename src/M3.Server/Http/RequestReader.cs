using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace M3.Server.Http;

/// <summary>Reads JSON request bodies and fields, turning every malformed part into a 400 that says what was expected.</summary>
internal static class RequestReader
{
    public static async Task<JsonElement> ReadObjectAsync(HttpRequest request)
    {
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            throw new ApiError(400, $"the request body is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ApiError(400, "the request body must be a JSON object");
            return doc.RootElement.Clone();
        }
    }

    /// <summary>A string or an array of strings.</summary>
    public static List<string> Strings(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v)) throw new ApiError(400, $"\"{name}\" is required: a string or an array of strings");
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind != JsonValueKind.Array) throw new ApiError(400, $"\"{name}\" must be a string or an array of strings");
        var result = new List<string>();
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw new ApiError(400, $"\"{name}\" must contain only strings (token arrays are not accepted)");
            result.Add(e.GetString()!);
        }
        return result;
    }

    public static string String(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String) throw new ApiError(400, $"\"{name}\" must be a string");
        return v.GetString()!;
    }

    public static bool Bool(JsonElement obj, string name, bool fallback)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ApiError(400, $"\"{name}\" must be true or false"),
        };
    }

    public static int? Int(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i)) throw new ApiError(400, $"\"{name}\" must be an integer");
        return i;
    }

    public static M3.Core.Scoring.HybridWeights Weights(JsonElement obj)
    {
        if (!obj.TryGetProperty("weights", out var v) || v.ValueKind == JsonValueKind.Null) return M3.Core.Scoring.HybridWeights.Default;
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 3 || v.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number))
            throw new ApiError(400, "\"weights\" must be an array of three numbers (dense, sparse, colbert)");
        try
        {
            return M3.Core.Scoring.HybridWeights.Parse(string.Join(",", v.EnumerateArray().Select(x => x.GetRawText())));
        }
        catch (FormatException e)
        {
            throw new ApiError(422, e.Message);
        }
    }
}

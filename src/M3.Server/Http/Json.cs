using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace M3.Server.Http;

/// <summary>Writes JSON responses with Utf8JsonWriter (floats in shortest round-trip form, as the CLI writes them).</summary>
internal static class Json
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext ctx, Action<Utf8JsonWriter> body, int status = 200, string contentType = "application/json")
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = contentType;
        await using var w = new Utf8JsonWriter(ctx.Response.Body, Options);
        body(w);
        await w.FlushAsync(ctx.RequestAborted);
    }

    /// <summary>An RFC 7807 problem: type, title (the status's reason), status and a detail safe to show.</summary>
    public static Task ProblemAsync(HttpContext ctx, int status, string detail)
    {
        if (status == StatusCodes.Status429TooManyRequests) ctx.Response.Headers.RetryAfter = "1";
        return WriteAsync(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "about:blank");
            w.WriteString("title", Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status));
            w.WriteNumber("status", status);
            w.WriteString("detail", detail);
            w.WriteEndObject();
        }, status, "application/problem+json");
    }
}

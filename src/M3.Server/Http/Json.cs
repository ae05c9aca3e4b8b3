using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace M3.Server.Http;

/// <summary>RFC 7807 problem responses.</summary>
internal static class Json
{
    /// <summary>
    /// An RFC 7807 problem: type, title (the status's reason), status and a detail safe to show; plus OpenAI's
    /// <c>error</c> member (an extension member to RFC 7807), so that OpenAI clients show the detail in their exceptions.
    /// </summary>
    public static async Task ProblemAsync(HttpContext ctx, int status, string detail)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/problem+json";
        if (status == StatusCodes.Status429TooManyRequests) ctx.Response.Headers.RetryAfter = "1";
        await using var w = new Utf8JsonWriter(ctx.Response.Body, new JsonWriterOptions { Encoder = ServerJson.Options.Encoder });
        w.WriteStartObject();
        w.WriteString("type", "about:blank");
        w.WriteString("title", Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status));
        w.WriteNumber("status", status);
        w.WriteString("detail", detail);
        w.WriteStartObject("error");
        w.WriteString("message", detail);
        w.WriteString("type", status >= 500 ? "server_error" : "invalid_request_error");
        w.WriteEndObject();
        w.WriteEndObject();
        await w.FlushAsync(ctx.RequestAborted);
    }
}

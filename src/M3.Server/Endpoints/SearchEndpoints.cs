using M3.Retrieval;
using M3.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace M3.Server.Endpoints;

/// <summary>/search over the index given with --index.</summary>
internal static class SearchEndpoints
{
    public static void Map(WebApplication app, Encoding encoding, ModelHost host)
    {
        // M3Index searches are thread-safe and run in parallel, each on the snapshot of the latest committed state, so
        // documents added or deleted by another process (m3 index add/delete) are seen by the next request.
        app.MapPost("/search", async (HttpContext ctx) =>
        {
            var body = await RequestReader.ReadObjectAsync(ctx.Request);
            var index = host.Index;
            var query = RequestReader.String(body, "query");
            var modeText = body.TryGetProperty("mode", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String ? m.GetString()! : "hybrid";
            if (!Enum.TryParse<SearchMode>(modeText, ignoreCase: true, out var mode) || !Enum.IsDefined(mode))
                throw new ApiError(422, $"unknown mode '{modeText}'; expected dense, sparse, colbert, hybrid or rrf");
            int topK = RequestReader.Int(body, "top_k") ?? 10;
            if (topK < 1 || topK > 1000) throw new ApiError(422, "\"top_k\" must be between 1 and 1000");
            var options = new SearchOptions { Mode = mode, TopK = topK, Weights = RequestReader.Weights(body), Exact = RequestReader.Bool(body, "exact", false) };
            var q = (await encoding.EncodeAsync([query], encoding.Options(M3.Core.Encoding.M3Outputs.All)))[0];
            var hits = index.Search(q, options);
            await Json.WriteAsync(ctx, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("hits");
                foreach (var h in hits)
                {
                    w.WriteStartObject();
                    w.WriteString("id", h.Id);
                    w.WriteNumber("score", h.Score);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        });
    }
}

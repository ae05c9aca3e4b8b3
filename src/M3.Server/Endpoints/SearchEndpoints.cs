using M3.Retrieval;
using M3.Server.Contracts;
using M3.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace M3.Server.Endpoints;

/// <summary>/search over the index given with --index.</summary>
internal static class SearchEndpoints
{
    public static void Map(IEndpointRouteBuilder app, RequestEncoder encoder, ModelHost host)
    {
        // M3Index searches are thread-safe and run in parallel, each on the snapshot of the latest committed state, so
        // documents added or deleted by another process (m3 index add/delete) are seen by the next request.
        app.MapPost("/search", async (HttpContext ctx) =>
        {
            var request = await RequestJson.ReadAsync<SearchRequest>(ctx);
            var index = host.Index;
            var query = request.Query ?? throw new ApiError(400, "\"query\" must be a string");
            var modeText = request.Mode ?? "hybrid";
            if (!Enum.TryParse<SearchMode>(modeText, ignoreCase: true, out var mode) || !Enum.IsDefined(mode))
                throw new ApiError(422, $"unknown mode '{modeText}'; expected dense, sparse, colbert, hybrid or rrf");
            int topK = request.TopK ?? 10;
            if (topK < 1 || topK > 1000) throw new ApiError(422, "\"top_k\" must be between 1 and 1000");
            var options = new SearchOptions { Mode = mode, TopK = topK, Weights = EmbeddingEndpoints.Weights(request.Weights), Exact = request.Exact ?? false };
            var q = (await encoder.EncodeAsync([query], encoder.Options(M3.Core.Inference.M3Outputs.All), ctx.RequestAborted))[0];
            var hits = index.Search(q, options);
            return EmbeddingEndpoints.Ok(new SearchResponse(hits.Select(h => new SearchHitItem(h.Id, h.Score)).ToArray()));
        }).DocumentsJsonBody<SearchRequest>().Produces<SearchResponse>();
    }
}

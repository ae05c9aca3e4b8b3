using M3.Core.Inference;
using M3.Core.Scoring;
using M3.Server.Contracts;
using M3.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace M3.Server.Endpoints;

/// <summary>/v1/embeddings (OpenAI), /embed, /score and /tokenize.</summary>
internal static class EmbeddingEndpoints
{
    public static void Map(IEndpointRouteBuilder app, RequestEncoder encoder, ModelHost host, string modelId)
    {
        app.MapPost("/v1/embeddings", async (HttpContext ctx) =>
        {
            var request = await RequestJson.ReadAsync<EmbeddingsRequest>(ctx);
            var inputs = request.Input ?? throw new ApiError(400, "\"input\" is required: a string or an array of strings");
            var format = request.EncodingFormat ?? "float";
            if (format is not ("float" or "base64")) throw new ApiError(400, "\"encoding_format\" must be \"float\" or \"base64\"");
            if (request.Dimensions is { } dims && dims != host.Encoder.HiddenSize)
                throw new ApiError(400, $"\"dimensions\" {dims} is not supported: BGE-M3 dense vectors have {host.Encoder.HiddenSize}");
            var results = await encoder.EncodeAsync(inputs, encoder.Options(M3Outputs.Dense), ctx.RequestAborted);
            int tokens = results.Sum(r => r.TokenCount);
            var data = results.Select((r, i) => new EmbeddingsItem(i, new EmbeddingVector(r.Dense!, format == "base64"))).ToArray();
            return Ok(new EmbeddingsResponse(data, request.Model ?? modelId, new EmbeddingsUsage(tokens, tokens)));
        }).DocumentsJsonBody<EmbeddingsRequest>().Produces<EmbeddingsResponse>();

        app.MapPost("/embed", async (HttpContext ctx) =>
        {
            var request = await RequestJson.ReadAsync<EmbedRequest>(ctx);
            var inputs = request.Inputs ?? throw new ApiError(400, "\"inputs\" is required: a string or an array of strings");
            var outputs = (request.Dense ?? true ? M3Outputs.Dense : 0)
                        | (request.Sparse ?? true ? M3Outputs.Sparse : 0)
                        | (request.Colbert ?? false ? M3Outputs.Colbert : 0);
            if (outputs == 0) throw new ApiError(422, "no representation requested: set at least one of dense, sparse, colbert");
            var results = await encoder.EncodeAsync(inputs, encoder.Options(outputs, request.Mcls ?? false), ctx.RequestAborted);
            Func<int, string>? tokenOf = request.ReturnTokens ?? false ? host.Encoder.Tokenizer.IdToToken : null;
            return Ok(results.Select(r => new EmbedItem(r, tokenOf)).ToArray());
        }).DocumentsJsonBody<EmbedRequest>().Produces<EmbedItem[]>();

        app.MapPost("/score", async (HttpContext ctx) =>
        {
            var request = await RequestJson.ReadAsync<ScoreRequest>(ctx);
            var pairs = request.Pairs ?? throw new ApiError(400, "\"pairs\" must be an array of {\"query\": ..., \"passage\": ...}");
            var weights = Weights(request.Weights);
            var texts = new List<string>();
            for (int i = 0; i < pairs.Length; i++)
            {
                var p = pairs[i] ?? throw new ApiError(400, $"\"pairs[{i}]\" must be an object {{\"query\": ..., \"passage\": ...}}");
                texts.Add(p.Query ?? throw new ApiError(400, $"\"pairs[{i}].query\" must be a string"));
                texts.Add(p.Passage ?? throw new ApiError(400, $"\"pairs[{i}].passage\" must be a string"));
            }
            var e = await encoder.EncodeAsync(texts, encoder.Options(M3Outputs.All), ctx.RequestAborted);
            return Ok(Enumerable.Range(0, pairs.Length).Select(i => new ScoreItem(M3Scores.All(e[2 * i], e[2 * i + 1], weights))).ToArray());
        }).DocumentsJsonBody<ScoreRequest>().Produces<ScoreItem[]>();

        app.MapPost("/tokenize", async (HttpContext ctx) =>
        {
            var request = await RequestJson.ReadAsync<TokenizeRequest>(ctx);
            var inputs = request.Inputs ?? throw new ApiError(400, "\"inputs\" is required: a string or an array of strings");
            encoder.CheckCounts(inputs);
            var tokenizer = host.Encoder.Tokenizer;
            int maxLength = encoder.Options(M3Outputs.Dense).MaxLength;
            var items = new TokenizeItem[inputs.Count];
            for (int i = 0; i < inputs.Count; i++)
            {
                var t = tokenizer.Encode(inputs[i], maxLength);
                if (t.Truncated && encoder.RejectsLongInputs) encoder.CheckLength(i, tokenizer.EncodeToIds(inputs[i], int.MaxValue).Length);
                items[i] = new TokenizeItem(t);
            }
            return Ok(items);
        }).DocumentsJsonBody<TokenizeRequest>().Produces<TokenizeItem[]>();
    }

    /// <summary>A 200 with the body serialized by the source-generated contracts.</summary>
    public static IResult Ok<T>(T body) => TypedResults.Json(body, ServerJson.Info<T>());

    /// <summary>Dense, sparse and ColBERT weights of the combined scores; absent: 0.4, 0.2, 0.4.</summary>
    public static HybridWeights Weights(float[]? weights)
    {
        if (weights == null) return HybridWeights.Default;
        if (weights.Length != 3) throw new ApiError(400, "\"weights\" must be an array of three numbers (dense, sparse, colbert)");
        try
        {
            return HybridWeights.Parse(string.Join(",", weights.Select(w => w.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        }
        catch (FormatException e)
        {
            throw new ApiError(422, e.Message);
        }
    }
}

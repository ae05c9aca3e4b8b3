using System.Runtime.InteropServices;
using System.Text.Json;
using M3.Core.Encoding;
using M3.Core.Scoring;
using M3.Core.Serialization;
using M3.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace M3.Server.Endpoints;

/// <summary>/v1/embeddings (OpenAI), /embed, /score and /tokenize.</summary>
internal static class EmbeddingEndpoints
{
    public static void Map(WebApplication app, Encoding encoding, ModelHost host, string modelId)
    {
        app.MapPost("/v1/embeddings", async (HttpContext ctx) =>
        {
            var body = await RequestReader.ReadObjectAsync(ctx.Request);
            var inputs = RequestReader.Strings(body, "input");
            var format = body.TryGetProperty("encoding_format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : "float";
            if (format is not ("float" or "base64")) throw new ApiError(400, "\"encoding_format\" must be \"float\" or \"base64\"");
            if (RequestReader.Int(body, "dimensions") is { } dims && dims != host.Encoder.HiddenSize)
                throw new ApiError(400, $"\"dimensions\" {dims} is not supported: BGE-M3 dense vectors have {host.Encoder.HiddenSize}");
            var results = await encoding.EncodeAsync(inputs, encoding.Options(M3Outputs.Dense));
            await Json.WriteAsync(ctx, w =>
            {
                w.WriteStartObject();
                w.WriteString("object", "list");
                w.WriteStartArray("data");
                for (int i = 0; i < results.Length; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("object", "embedding");
                    w.WriteNumber("index", i);
                    w.WritePropertyName("embedding");
                    if (format == "base64") w.WriteStringValue(Convert.ToBase64String(MemoryMarshal.AsBytes(results[i].Dense!.AsSpan())));
                    else EmbeddingJson.WriteVector(w, results[i].Dense);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("model", body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : modelId);
                int tokens = results.Sum(r => r.TokenCount);
                w.WriteStartObject("usage");
                w.WriteNumber("prompt_tokens", tokens);
                w.WriteNumber("total_tokens", tokens);
                w.WriteEndObject();
                w.WriteEndObject();
            });
        });

        app.MapPost("/embed", async (HttpContext ctx) =>
        {
            var body = await RequestReader.ReadObjectAsync(ctx.Request);
            var inputs = RequestReader.Strings(body, "inputs");
            var outputs = (RequestReader.Bool(body, "dense", true) ? M3Outputs.Dense : 0)
                        | (RequestReader.Bool(body, "sparse", true) ? M3Outputs.Sparse : 0)
                        | (RequestReader.Bool(body, "colbert", false) ? M3Outputs.Colbert : 0);
            if (outputs == 0) throw new ApiError(422, "no representation requested: set at least one of dense, sparse, colbert");
            bool tokens = RequestReader.Bool(body, "return_tokens", false);
            var results = await encoding.EncodeAsync(inputs, encoding.Options(outputs, RequestReader.Bool(body, "mcls", false)));
            var tokenizer = host.Encoder.Tokenizer;
            await Json.WriteAsync(ctx, w =>
            {
                w.WriteStartArray();
                foreach (var r in results) EmbeddingJson.Write(w, r, tokens ? tokenizer.IdToToken : null);
                w.WriteEndArray();
            });
        });

        app.MapPost("/score", async (HttpContext ctx) =>
        {
            var body = await RequestReader.ReadObjectAsync(ctx.Request);
            if (!body.TryGetProperty("pairs", out var pairs) || pairs.ValueKind != JsonValueKind.Array)
                throw new ApiError(400, "\"pairs\" must be an array of {\"query\": ..., \"passage\": ...}");
            var weights = RequestReader.Weights(body);
            var texts = new List<string>();
            foreach (var p in pairs.EnumerateArray())
            {
                if (p.ValueKind != JsonValueKind.Object) throw new ApiError(400, "each pair must be an object {\"query\": ..., \"passage\": ...}");
                texts.Add(RequestReader.String(p, "query"));
                texts.Add(RequestReader.String(p, "passage"));
            }
            var e = await encoding.EncodeAsync(texts, encoding.Options(M3Outputs.All));
            await Json.WriteAsync(ctx, w =>
            {
                w.WriteStartArray();
                for (int i = 0; i < e.Length; i += 2)
                {
                    EmbeddingJson.WriteScores(w, M3Scores.All(e[i], e[i + 1], weights));
                }
                w.WriteEndArray();
            });
        });

        app.MapPost("/tokenize", async (HttpContext ctx) =>
        {
            var body = await RequestReader.ReadObjectAsync(ctx.Request);
            var inputs = RequestReader.Strings(body, "inputs");
            encoding.CheckLimits(inputs);
            var tokenizer = host.Encoder.Tokenizer;
            await Json.WriteAsync(ctx, w =>
            {
                w.WriteStartArray();
                foreach (var text in inputs)
                {
                    EmbeddingJson.WriteTokens(w, tokenizer.Encode(text, encoding.Options(M3Outputs.Dense).MaxLength));
                }
                w.WriteEndArray();
            });
        });
    }
}

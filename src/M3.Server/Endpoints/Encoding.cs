using M3.Core.Encoding;
using M3.Core.Representations;
using M3.Server.Http;

namespace M3.Server.Endpoints;

/// <summary>Applies the per-request limits and runs texts through the scheduler.</summary>
internal sealed class Encoding(ServerOptions options, ModelHost host, Batching.EncodeScheduler scheduler)
{
    public M3EncodeOptions Options(M3Outputs outputs, bool mcls = false) =>
        new() { Outputs = outputs, Mcls = mcls, MaxLength = options.MaxTokensPerInput, MaxBatchTokens = options.MaxBatchTokens, BatchSize = options.MaxBatchSize };

    public void CheckLimits(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0) throw new ApiError(400, "no input texts");
        if (texts.Count > options.MaxInputsPerRequest)
            throw new ApiError(413, $"{texts.Count} inputs; at most {options.MaxInputsPerRequest} per request");
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i].Length > options.MaxCharactersPerInput)
                throw new ApiError(413, $"input {i} has {texts[i].Length} characters; at most {options.MaxCharactersPerInput}");
            if (!options.TruncateLongInputs)
            {
                int tokens = host.Encoder.Tokenizer.EncodeToIds(texts[i], int.MaxValue).Length;
                if (tokens > options.MaxTokensPerInput)
                    throw new ApiError(413, $"input {i} has {tokens} tokens; at most {options.MaxTokensPerInput}");
            }
        }
    }

    public async Task<M3Embedding[]> EncodeAsync(IReadOnlyList<string> texts, M3EncodeOptions encodeOptions)
    {
        CheckLimits(texts);
        _ = host.Encoder; // 503 while the model loads (or failed to), before anything is queued
        var task = scheduler.TryEncode(texts, encodeOptions) ?? throw new ApiError(429, "the server is at capacity; retry shortly");
        return await task;
    }
}

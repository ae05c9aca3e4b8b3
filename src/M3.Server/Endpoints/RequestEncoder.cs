using M3.Core.Inference;
using M3.Core.Representations;
using M3.Server.Batching;
using M3.Server.Http;

namespace M3.Server.Endpoints;

/// <summary>
/// Turns a request's texts into embeddings: checks the per-request limits, tokenizes each text once and queues its ids,
/// so the scheduler plans passes and the encoder runs them on the same ids.
/// </summary>
internal sealed class RequestEncoder(ServerOptions options, ModelHost host, EncodeScheduler scheduler)
{
    public M3EncodeOptions Options(M3Outputs outputs, bool mcls = false) =>
        new() { Outputs = outputs, Mcls = mcls, MaxLength = options.MaxTokensPerInput, MaxBatchTokens = options.MaxBatchTokens, BatchSize = options.MaxBatchSize };

    /// <summary>The count and length limits every endpoint that takes texts applies (400 or 413).</summary>
    public void CheckCounts(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0) throw new ApiError(400, "no input texts");
        if (texts.Count > options.MaxInputsPerRequest)
            throw new ApiError(413, $"{texts.Count} inputs; at most {options.MaxInputsPerRequest} per request");
        for (int i = 0; i < texts.Count; i++)
            if (texts[i].Length > options.MaxCharactersPerInput)
                throw new ApiError(413, $"input {i} has {texts[i].Length} characters; at most {options.MaxCharactersPerInput}");
    }

    public bool RejectsLongInputs => !options.TruncateLongInputs;

    /// <summary>413 for an input over --max-tokens when long inputs are rejected rather than truncated.</summary>
    public void CheckLength(int index, int tokens)
    {
        if (!options.TruncateLongInputs && tokens > options.MaxTokensPerInput)
            throw new ApiError(413, $"input {index} has {tokens} tokens; at most {options.MaxTokensPerInput}");
    }

    /// <summary>Tokenizes once (whole when long inputs are rejected, to count them), then checks the request's token budget.</summary>
    public List<int[]> Tokenize(IReadOnlyList<string> texts, M3EncodeOptions encodeOptions)
    {
        CheckCounts(texts);
        var encoder = host.Encoder; // 503 while the model loads (or failed to), before anything is tokenized
        var tokenizeOptions = options.TruncateLongInputs ? encodeOptions : encodeOptions with { MaxLength = int.MaxValue };
        var tokenized = new List<int[]>(texts.Count);
        long total = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            var ids = encoder.Tokenize(texts[i], tokenizeOptions);
            CheckLength(i, ids.Length);
            tokenized.Add(ids);
            total += M3Encoder.EncodedLength(ids.Length, encodeOptions);
        }
        if (total > options.MaxTokensPerRequest)
            throw new ApiError(413, $"the request has {total} tokens to encode; at most {options.MaxTokensPerRequest} per request: split it into smaller requests");
        return tokenized;
    }

    /// <summary>Encodes the texts; the client going away (<paramref name="cancelled"/>) drops those still waiting.</summary>
    public async Task<M3Embedding[]> EncodeAsync(IReadOnlyList<string> texts, M3EncodeOptions encodeOptions, CancellationToken cancelled)
    {
        var tokenized = Tokenize(texts, encodeOptions);
        var task = scheduler.TryEncode(tokenized, encodeOptions, cancelled) ?? throw new ApiError(429, "the server is at capacity; retry shortly");
        return await task;
    }
}

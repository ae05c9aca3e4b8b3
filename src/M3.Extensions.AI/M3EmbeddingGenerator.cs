using M3.Core.Inference;
using Microsoft.Extensions.AI;

namespace M3.Extensions.AI;

/// <summary>
/// BGE-M3's dense output as a Microsoft.Extensions.AI embedding generator, so the encoder plugs into the .NET AI
/// ecosystem (vector stores, Semantic Kernel, middleware such as caching and telemetry).
/// </summary>
public sealed class M3EmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly M3Encoder _encoder;
    private readonly bool _ownsEncoder;
    private readonly M3EncodeOptions _options;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <param name="encoder">The encoder to use.</param>
    /// <param name="ownsEncoder">Dispose the encoder with this generator.</param>
    /// <param name="options">Encoding options (outputs are forced to dense).</param>
    /// <param name="modelId">Reported model id; defaults to the checkpoint folder's name.</param>
    public M3EmbeddingGenerator(M3Encoder encoder, bool ownsEncoder = false, M3EncodeOptions? options = null, string? modelId = null)
    {
        _encoder = encoder;
        _ownsEncoder = ownsEncoder;
        _options = (options ?? M3EncodeOptions.Default) with { Outputs = M3Outputs.Dense };
        _metadata = new EmbeddingGeneratorMetadata("M3Sharp", null, modelId ?? Path.GetFileName(encoder.ModelDirectory), encoder.HiddenSize);
    }

    /// <summary>Encodes <paramref name="values"/> on a thread-pool thread; <paramref name="cancellationToken"/> stops the encoding.</summary>
    /// <exception cref="NotSupportedException">Other dimensions than the model's hidden size were requested.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (options?.Dimensions is { } d && d != _encoder.HiddenSize)
            throw new NotSupportedException($"BGE-M3 dense vectors have {_encoder.HiddenSize} dimensions; {d} was requested");
        var texts = values.ToList();
        // Encoding is CPU-bound work in ONNX Runtime: run it off the caller's thread.
        return Task.Run(() =>
        {
            var results = _encoder.Encode(texts, _options, cancellationToken: cancellationToken);
            var embeddings = new GeneratedEmbeddings<Embedding<float>>(results.Select(r =>
                new Embedding<float>(r.Dense!) { ModelId = _metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow }))
            {
                Usage = new UsageDetails { InputTokenCount = results.Sum(r => (long)r.TokenCount), TotalTokenCount = results.Sum(r => (long)r.TokenCount) },
            };
            return embeddings;
        }, cancellationToken);
    }

    /// <summary>The generator's metadata, the underlying <see cref="M3Encoder"/>, or the generator itself.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(_encoder) ? _encoder
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <summary>Disposes the encoder when this generator owns it.</summary>
    public void Dispose()
    {
        if (_ownsEncoder) _encoder.Dispose();
    }
}

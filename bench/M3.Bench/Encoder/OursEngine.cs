using M3.Core.Inference;
using M3.Core.Representations;

namespace M3.Bench.Encoder;

/// <summary>Our encoder, at one precision, exactly as a library user calls it.</summary>
internal sealed class OursEngine(string model, M3Precision precision, int threads) : IEngine
{
    // The built graph is cached beside the benchmark checkpoint, not in the user's cache.
    private readonly M3Encoder _encoder = M3Encoder.Load(model,
        new M3LoadOptions { Precision = precision, Threads = threads, CacheDirectory = Path.Combine(model, "onnx-cache") });

    public int[] TokenCounts(IReadOnlyList<string> texts) =>
        texts.Select(t => _encoder.Tokenizer.Encode(t, M3EncodeOptions.Default.MaxLength).Ids.Length).ToArray();

    public void WarmUp(Workload workload) => _encoder.Encode(WarmUpTexts.Of(workload, TokenCounts(workload.Texts)), Options(workload));

    public IReadOnlyList<M3Embedding>? Encode(Workload workload) => _encoder.Encode(workload.Texts, Options(workload));

    private static M3EncodeOptions Options(Workload w) => new() { BatchSize = w.BatchSize, MaxBatchTokens = w.MaxBatchTokens };

    public void Dispose() => _encoder.Dispose();
}

/// <summary>The warm-up pass: the workload's shortest texts, as the PyTorch peer warms up on its shortest batch.</summary>
internal static class WarmUpTexts
{
    public static IReadOnlyList<string> Of(Workload workload, int[] lengths) =>
        Enumerable.Range(0, lengths.Length).OrderBy(i => lengths[i]).Take(4).Select(i => workload.Texts[i]).ToList();
}

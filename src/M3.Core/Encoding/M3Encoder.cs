using M3.Core.Representations;

namespace M3.Core.Encoding;

/// <summary>
/// BGE-M3 on ONNX Runtime: a checkpoint folder in, dense, sparse and ColBERT representations out.
/// Thread-safe: concurrent <see cref="Encode"/> calls share one inference session.
/// </summary>
public sealed class M3Encoder : IDisposable
{
    /// <summary>Loads a BGE-M3 checkpoint folder (config.json, weights, heads, tokenizer), building or reusing the cached ONNX graph.</summary>
    public static M3Encoder Load(string modelDirectory, M3EncoderOptions? options = null) =>
        throw new NotImplementedException("encoder: issue 3");

    /// <summary>Hidden size of the model, the dimension of dense and ColBERT vectors.</summary>
    public int HiddenSize => throw new NotImplementedException();

    public M3.Tokenization.XlmRobertaTokenizer Tokenizer => throw new NotImplementedException();

    /// <summary>Encodes texts; results are in input order and do not depend on how the texts were batched.</summary>
    public IReadOnlyList<M3Embedding> Encode(IReadOnlyList<string> texts, M3EncodeOptions? options = null, IProgress<int>? progress = null) =>
        throw new NotImplementedException();

    public void Dispose() { }
}

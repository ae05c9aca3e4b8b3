using M3.Core.Checkpoint;

namespace M3.Core.Training.Checkpoints;

/// <summary>
/// Writes a model in BAAI/bge-m3's layout (<c>config.json</c>, <c>model.safetensors</c>, <c>colbert_linear.pt</c>,
/// <c>sparse_linear.pt</c>, tokenizer files): trained tensors from their current values, every other tensor (the
/// unused pooler; the encoder under --fix-encoder; the heads under --dense-only) from the source checkpoint.
/// </summary>
internal static class TrainedModelWriter
{
    /// <summary>Tokenizer and model-card files BGE-M3 folders carry; those present in the source are copied as they are.</summary>
    private static readonly string[] CopiedFiles =
    [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model",
        "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json",
    ];

    /// <summary>Writes into <paramref name="directory"/>, which must exist and be empty (callers write into a temp folder and rename it).</summary>
    public static void Write(string directory, string sourceDirectory, IReadOnlyList<TrainableTensor> trained)
    {
        using var source = M3Checkpoint.Open(sourceDirectory);
        var byName = trained.ToDictionary(t => t.Name, StringComparer.Ordinal);
        M3CheckpointWriter.Write(directory, source.Config,
            (info, destination) =>
            {
                if (byName.TryGetValue(info.Name, out var t)) t.Values.CopyTo(destination);
                else if (source.EncoderTensors.Any(s => s.Name == info.Name)) source.ReadEncoderTensorInto(info.Name, destination);
                else FromSourceOrZero(source, info.Name, destination);
            },
            Head("colbert_linear", source.ColbertLinear),
            Head("sparse_linear", source.SparseLinear));
        // The source's config.json keeps fields the writer does not model (dropout, architectures, transformers version).
        File.Copy(Path.Combine(sourceDirectory, M3Config.FileName), Path.Combine(directory, M3Config.FileName), overwrite: true);
        foreach (var name in CopiedFiles)
        {
            var path = Path.Combine(sourceDirectory, name);
            if (File.Exists(path)) File.Copy(path, Path.Combine(directory, name));
        }

        TensorFiller Head(string prefix, LinearWeights original) => (info, destination) =>
        {
            if (byName.TryGetValue($"{prefix}.{info.Name}", out var t)) t.Values.CopyTo(destination);
            else (info.Name == "weight" ? original.Weight : original.Bias).Data.CopyTo(destination);
        };
    }

    /// <summary>Tensors outside the encoder layout (the pooler): the source's values under whatever prefix it uses, else zeros as the model never reads them.</summary>
    private static void FromSourceOrZero(M3Checkpoint source, string name, Span<float> destination)
    {
        var key = source.Weights.Tensors.Keys.FirstOrDefault(k => k == name || k.EndsWith("." + name, StringComparison.Ordinal));
        if (key != null && source.Weights.Tensors[key].ElementCount == destination.Length) source.Weights.ReadInto(key, destination);
        else destination.Clear();
    }
}

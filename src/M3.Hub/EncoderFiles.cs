namespace M3.Hub;

/// <summary>
/// One need of the encoder: a single file, or alternatives (<paramref name="FirstOnly"/>: take only the first the repo has,
/// e.g. safetensors before pickle weights; otherwise take every one the repo has and need at least one).
/// </summary>
internal sealed record FileRequirement(IReadOnlyList<string> Names, bool Required, bool FirstOnly = false)
{
    public string Describe() => string.Join(" or ", Names);
}

/// <summary>The files of a BGE-M3 checkpoint the encoder reads; nothing else in the repo (ONNX exports, images, other formats) is fetched.</summary>
internal static class EncoderFiles
{
    public static IReadOnlyList<FileRequirement> Requirements { get; } =
    [
        new(["config.json"], Required: true),
        new(["tokenizer_config.json"], Required: true),
        new(["special_tokens_map.json"], Required: false),
        new(["tokenizer.json", "sentencepiece.bpe.model"], Required: true),
        new(["model.safetensors", "pytorch_model.bin"], Required: true, FirstOnly: true),
        new(["colbert_linear.pt"], Required: true),
        new(["sparse_linear.pt"], Required: true),
    ];

    /// <summary>The required needs a snapshot folder does not meet (empty when the encoder can load it).</summary>
    public static List<FileRequirement> MissingIn(Func<string, bool> hasFile) =>
        Requirements.Where(r => r.Required && !r.Names.Any(hasFile)).ToList();
}

using M3.Tests;

namespace M3.Hub.Tests;

/// <summary>The tiny-m3 checkpoint's files, as the fake hub serves them.</summary>
internal static class Fixture
{
    private static readonly Lazy<Dictionary<string, byte[]>> Lazy = new(() =>
        Directory.GetFiles(TestPaths.TinyM3).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes));

    /// <summary>Every fixture file (the golden files included, which the resolver must not fetch).</summary>
    public static Dictionary<string, byte[]> Files => new(Lazy.Value);

    public static Dictionary<string, byte[]> Without(params string[] names)
    {
        var files = Files;
        foreach (var name in names) files.Remove(name);
        return files;
    }

    /// <summary>Files the resolver fetches from a repo holding the whole fixture (safetensors preferred over the pickle).</summary>
    public static readonly string[] EncoderFiles =
    [
        "config.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "sentencepiece.bpe.model",
        "model.safetensors", "colbert_linear.pt", "sparse_linear.pt",
    ];
}

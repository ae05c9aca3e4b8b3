using System.Text.Json;
using M3.Tokenization.Normalization;
using M3.Tokenization.Pipeline;

namespace M3.Tokenization.Formats;

/// <summary>
/// Reads a Hugging Face tokenizer.json of the XLM-RoBERTa shape (Unigram model, Precompiled + Replace normalizers,
/// Metaspace pre-tokenizer, &lt;s&gt; A &lt;/s&gt; post-processor). Anything else is refused with a message naming
/// the file and what was expected, rather than tokenized differently from the reference.
/// </summary>
internal static class TokenizerJsonReader
{
    public static TokenizerDefinition Read(string path)
    {
        if (!File.Exists(path)) throw new TokenizerException($"tokenizer file '{path}' does not exist; expected a checkpoint folder's tokenizer file");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: not valid JSON ({e.Message}); expected a Hugging Face tokenizer.json", e);
        }
        using (doc)
        {
            try
            {
                return Read(doc.RootElement, path);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
            {
                // A field of the wrong JSON kind or a missing nested field: still the file's fault, not a crash.
                throw Invalid(path, $"unexpected structure ({e.Message})");
            }
        }
    }

    private static TokenizerDefinition Read(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Invalid(path, "the top level is not an object");
        var model = Field(root, "model", JsonValueKind.Object, path);
        var type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type != "Unigram")
            throw new TokenizerException($"{path}: model type '{type ?? "(none)"}' is not supported; expected a Unigram model (XLM-RoBERTa / BGE-M3 tokenizer.json)");
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw new TokenizerException($"{path}: Unigram byte_fallback is not supported; expected XLM-RoBERTa's model without it");
        var (pieces, scores) = ReadVocab(Field(model, "vocab", JsonValueKind.Array, path), path);
        var unk = Field(model, "unk_id", JsonValueKind.Number, path);
        if (!unk.TryGetInt32(out int unknownId) || unknownId < 0 || unknownId >= pieces.Length)
            throw Invalid(path, $"model.unk_id {unk} is not an id of the {pieces.Length}-piece vocabulary");
        var (charsMap, spaceRun) = ReadNormalizer(root.TryGetProperty("normalizer", out var n) ? n : default, path);
        CheckPreTokenizer(root.TryGetProperty("pre_tokenizer", out var pre) ? pre : default, path);
        var addedTokens = ReadAddedTokens(root, path);
        var (bos, eos) = ReadPostProcessor(root, addedTokens, path);
        return new TokenizerDefinition(path, pieces, scores, unknownId, charsMap, spaceRun, addedTokens, bos, eos);
    }

    private static TokenizerException Invalid(string path, string what) =>
        new($"{path}: {what}; expected a Hugging Face tokenizer.json for XLM-RoBERTa");

    private static JsonElement Field(JsonElement obj, string name, JsonValueKind kind, string path)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind != kind)
            throw Invalid(path, $"field '{name}' is missing or not {kind.ToString().ToLowerInvariant()}");
        return value;
    }

    private static (string[] Pieces, double[] Scores) ReadVocab(JsonElement vocab, string path)
    {
        int n = vocab.GetArrayLength();
        if (n == 0) throw Invalid(path, "model.vocab is empty");
        var pieces = new string[n];
        var scores = new double[n];
        int i = 0;
        foreach (var entry in vocab.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2
                || entry[0].ValueKind != JsonValueKind.String || entry[1].ValueKind != JsonValueKind.Number)
                throw Invalid(path, $"model.vocab[{i}] is not a [piece, score] pair");
            pieces[i] = entry[0].GetString()!;
            scores[i] = entry[1].GetDouble();
            i++;
        }
        return (pieces, scores);
    }

    private static (PrecompiledCharsMap? CharsMap, string? SpaceRun) ReadNormalizer(JsonElement normalizer, string path)
    {
        var steps = normalizer.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => [],
            JsonValueKind.Object when normalizer.TryGetProperty("type", out var t) && t.GetString() == "Sequence" =>
                Field(normalizer, "normalizers", JsonValueKind.Array, path).EnumerateArray().ToList(),
            JsonValueKind.Object => [normalizer],
            _ => throw Invalid(path, "'normalizer' is not an object"),
        };
        PrecompiledCharsMap? charsMap = null;
        string? spaceRun = null;
        foreach (var step in steps)
        {
            var type = step.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "Precompiled" && charsMap == null && spaceRun == null)
            {
                var encoded = Field(step, "precompiled_charsmap", JsonValueKind.String, path).GetString()!;
                byte[] bytes;
                try
                {
                    bytes = Convert.FromBase64String(encoded);
                }
                catch (FormatException)
                {
                    throw Invalid(path, "precompiled_charsmap is not valid base64");
                }
                if (bytes.Length > 0) charsMap = PrecompiledCharsMap.Parse(bytes, path);
            }
            else if (type == "Replace" && spaceRun == null
                     && step.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
                     && pattern.TryGetProperty("Regex", out var regex) && regex.GetString() == " {2,}")
            {
                spaceRun = Field(step, "content", JsonValueKind.String, path).GetString();
            }
            else
            {
                throw new TokenizerException($"{path}: normalizer step {step.GetRawText()[..Math.Min(120, step.GetRawText().Length)]} is not supported; expected Precompiled followed by Replace(\" {{2,}}\")");
            }
        }
        return (charsMap, spaceRun);
    }

    private static void CheckPreTokenizer(JsonElement pre, string path)
    {
        bool ok = pre.ValueKind == JsonValueKind.Object
                  && pre.TryGetProperty("type", out var t) && t.GetString() == "Metaspace"
                  && pre.TryGetProperty("replacement", out var r) && r.GetString() == "\u2581"
                  && (pre.TryGetProperty("prepend_scheme", out var scheme) ? scheme.GetString() == "always"
                      : pre.TryGetProperty("add_prefix_space", out var add) && add.ValueKind == JsonValueKind.True)
                  && (!pre.TryGetProperty("split", out var split) || split.ValueKind == JsonValueKind.True);
        if (!ok) throw new TokenizerException($"{path}: pre_tokenizer is not supported; expected Metaspace('\u2581', prepend_scheme always, split)");
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string path)
    {
        var list = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array) return list;
        foreach (var token in tokens.EnumerateArray())
        {
            var content = Field(token, "content", JsonValueKind.String, path).GetString()!;
            if (!Field(token, "id", JsonValueKind.Number, path).TryGetInt32(out int id) || id < 0)
                throw Invalid(path, $"added token '{content}' has an invalid id");
            if (Flag(token, "single_word") || Flag(token, "normalized"))
                throw new TokenizerException($"{path}: added token '{content}' uses single_word or normalized matching; expected raw-text tokens as in XLM-RoBERTa");
            list.Add(new AddedToken(content, id, Flag(token, "lstrip"), Flag(token, "rstrip"), Flag(token, "special")));
        }
        return list;
    }

    private static bool Flag(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    /// <summary>The ids around a single sequence: TemplateProcessing "X $A Y" or RobertaProcessing (cls, sep).</summary>
    private static (int Bos, int Eos) ReadPostProcessor(JsonElement root, List<AddedToken> added, string path)
    {
        const string expected = "expected TemplateProcessing '<s> $A </s>' or RobertaProcessing";
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object)
            throw new TokenizerException($"{path}: no post_processor; {expected}");
        var type = post.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type == "RobertaProcessing")
            return (Field(post, "cls", JsonValueKind.Array, path)[1].GetInt32(), Field(post, "sep", JsonValueKind.Array, path)[1].GetInt32());
        if (type != "TemplateProcessing") throw new TokenizerException($"{path}: post_processor '{type}' is not supported; {expected}");
        var single = Field(post, "single", JsonValueKind.Array, path).EnumerateArray().ToList();
        if (single.Count != 3 || !single[0].TryGetProperty("SpecialToken", out var first)
            || !single[1].TryGetProperty("Sequence", out _) || !single[2].TryGetProperty("SpecialToken", out var last))
            throw new TokenizerException($"{path}: post_processor template is not supported; {expected}");
        return (SpecialId(post, first, path), SpecialId(post, last, path));
    }

    private static int SpecialId(JsonElement post, JsonElement templateItem, string path)
    {
        var name = templateItem.GetProperty("id").GetString()!;
        var specials = Field(post, "special_tokens", JsonValueKind.Object, path);
        if (!specials.TryGetProperty(name, out var special) || Field(special, "ids", JsonValueKind.Array, path).GetArrayLength() != 1)
            throw Invalid(path, $"post_processor special token '{name}' does not map to exactly one id");
        return special.GetProperty("ids")[0].GetInt32();
    }
}

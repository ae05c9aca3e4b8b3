namespace M3.Tokenization;

/// <summary>
/// XLM-RoBERTa's tokenizer as BGE-M3 uses it (Hugging Face tokenizers on tokenizer.json), loaded from either
/// tokenizer.json or sentencepiece.bpe.model. Placeholder surface; the implementation lands with issue 2.
/// </summary>
public sealed class XlmRobertaTokenizer
{
    public const int BosId = 0, PadId = 1, EosId = 2, UnkId = 3;

    /// <summary>Loads from a checkpoint folder: tokenizer.json when present, else sentencepiece.bpe.model.</summary>
    public static XlmRobertaTokenizer Load(string modelDirectory) => throw new NotImplementedException("tokenizer: issue 2");

    /// <summary>Default maximum length (tokenizer_config.json's model_max_length, else 8192).</summary>
    public int ModelMaxLength => throw new NotImplementedException();

    /// <summary>Ids with <c>&lt;s&gt;</c> … <c>&lt;/s&gt;</c>, truncated to keep the first maxLength−2 content tokens.</summary>
    public TokenizedText Encode(string text, int? maxLength = null) => throw new NotImplementedException();

    public string IdToToken(int id) => throw new NotImplementedException();
}

/// <summary>Result of tokenizing one text.</summary>
/// <param name="Ids">Token ids, specials included.</param>
/// <param name="Tokens">Token strings (vocabulary pieces), one per id.</param>
/// <param name="Offsets">Character span of each token in the original text ((0,0) for specials).</param>
public sealed record TokenizedText(int[] Ids, string[] Tokens, (int Start, int End)[] Offsets);

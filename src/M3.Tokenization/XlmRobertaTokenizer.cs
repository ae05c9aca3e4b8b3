using System.Text;
using M3.Tokenization.Formats;
using M3.Tokenization.Normalization;
using M3.Tokenization.Pipeline;
using M3.Tokenization.Unigram;

namespace M3.Tokenization;

/// <summary>
/// XLM-RoBERTa's tokenizer as BGE-M3 uses it: the ids Hugging Face tokenizers produces from tokenizer.json,
/// loadable from tokenizer.json or from sentencepiece.bpe.model alone. Thread-safe: encoding state is per thread.
/// Pipeline: added tokens split out of the raw text → Precompiled charsmap → Replace(" {2,}") → Metaspace →
/// Unigram Viterbi per word → truncation → &lt;s&gt; A &lt;/s&gt;.
/// </summary>
public sealed class XlmRobertaTokenizer
{
    /// <summary>The fairseq ids XLM-RoBERTa uses for <c>&lt;s&gt;</c>, <c>&lt;pad&gt;</c>, <c>&lt;/s&gt;</c> and <c>&lt;unk&gt;</c>.</summary>
    public const int BosId = 0, PadId = 1, EosId = 2, UnkId = 3;

    /// <summary>The tokenizer files of a checkpoint folder: Hugging Face's, SentencePiece's, and the settings file.</summary>
    public const string TokenizerJsonFileName = "tokenizer.json", SentencePieceFileName = "sentencepiece.bpe.model", ConfigFileName = "tokenizer_config.json";

    /// <summary>
    /// BGE-M3's longest input in tokens, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> included: the maximum length when
    /// tokenizer_config.json sets none (its position table has 8,194 rows, the first two taken by the pad offset).
    /// </summary>
    public const int DefaultMaxLength = 8192;

    [ThreadStatic] private static Scratch? t_scratch;

    private readonly UnigramModel _model;
    private readonly TextNormalizer _normalizer;
    private readonly AddedTokenMatcher _addedTokens;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly int _bosId, _eosId;

    private XlmRobertaTokenizer(TokenizerDefinition definition, int modelMaxLength)
    {
        _model = new UnigramModel(definition.Pieces, definition.Scores, definition.UnknownId);
        _normalizer = new TextNormalizer(definition.CharsMap, definition.SpaceRunReplacement);
        _addedTokens = new AddedTokenMatcher(definition.AddedTokens);
        _addedById = new Dictionary<int, AddedToken>();
        foreach (var token in definition.AddedTokens) _addedById[token.Id] = token;
        _bosId = definition.BosId;
        _eosId = definition.EosId;
        ModelMaxLength = modelMaxLength;
        VocabularySize = Math.Max(_model.Count, _addedById.Count == 0 ? 0 : _addedById.Keys.Max() + 1);
        MaskId = definition.AddedTokens.FirstOrDefault(t => t.Content == "<mask>")?.Id ?? -1;
        foreach (int id in new[] { _bosId, _eosId })
        {
            if (id < 0 || id >= VocabularySize)
                throw new TokenizerException($"{definition.Source}: post-processor token id {id} is outside the {VocabularySize}-token vocabulary");
        }
    }

    /// <summary>Loads from a checkpoint folder: tokenizer.json when present, else sentencepiece.bpe.model.</summary>
    /// <exception cref="TokenizerException">Neither file exists, or the one read is malformed; the message names it.</exception>
    public static XlmRobertaTokenizer Load(string modelDirectory)
    {
        if (!Directory.Exists(modelDirectory))
            throw new TokenizerException($"model folder '{modelDirectory}' does not exist (expected a checkpoint folder with {TokenizerJsonFileName} or {SentencePieceFileName})");
        var json = Path.Combine(modelDirectory, TokenizerJsonFileName);
        if (File.Exists(json)) return FromTokenizerJson(json);
        var spm = Path.Combine(modelDirectory, SentencePieceFileName);
        if (File.Exists(spm)) return FromSentencePieceModel(spm);
        throw new TokenizerException($"model folder '{modelDirectory}' has neither {TokenizerJsonFileName} nor {SentencePieceFileName}");
    }

    /// <summary>Loads a Hugging Face tokenizer.json; model_max_length comes from tokenizer_config.json beside it.</summary>
    /// <exception cref="TokenizerException">The file is missing, malformed or not an XLM-RoBERTa Unigram tokenizer.</exception>
    public static XlmRobertaTokenizer FromTokenizerJson(string path) =>
        new(TokenizerJsonReader.Read(path), MaxLengthBeside(path));

    /// <summary>Loads a SentencePiece model converted as Hugging Face's XLMRobertaConverter does; model_max_length as above.</summary>
    /// <exception cref="TokenizerException">The file is missing or not a SentencePiece Unigram model.</exception>
    public static XlmRobertaTokenizer FromSentencePieceModel(string path) =>
        new(SentencePieceModelReader.Read(path), MaxLengthBeside(path));

    private static int MaxLengthBeside(string path) =>
        TokenizerConfigReader.ReadModelMaxLength(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, ConfigFileName));

    /// <summary>Default maximum length (tokenizer_config.json's model_max_length, else <see cref="DefaultMaxLength"/>).</summary>
    public int ModelMaxLength { get; }

    /// <summary>Number of ids, added tokens included.</summary>
    public int VocabularySize { get; }

    /// <summary>Id of <c>&lt;mask&gt;</c>, or -1 when the vocabulary has none.</summary>
    public int MaskId { get; }

    /// <summary>
    /// Ids with <c>&lt;s&gt;</c> … <c>&lt;/s&gt;</c>, token strings and original-text offsets. Longer texts are
    /// truncated as the reference does: the first maxLength−2 content tokens are kept, and
    /// <see cref="TokenizedText.Truncated"/> says so.
    /// </summary>
    public TokenizedText Encode(string text, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var collector = Run(text, maxLength, withDetails: true);
        int n = collector.Ids.Count + 2;
        var ids = new int[n];
        var tokens = new string[n];
        var offsets = new (int, int)[n];
        ids[0] = _bosId;
        for (int i = 0; i < collector.Ids.Count; i++)
        {
            ids[i + 1] = collector.Ids[i];
            tokens[i + 1] = collector.Tokens[i];
            offsets[i + 1] = collector.Offsets[i];
        }
        ids[n - 1] = _eosId;
        tokens[n - 1] = IdToToken(_eosId);
        tokens[0] = IdToToken(_bosId);
        return new TokenizedText(ids, tokens, offsets) { Truncated = collector.Truncated };
    }

    /// <summary>Ids only (<c>&lt;s&gt;</c> … <c>&lt;/s&gt;</c>, truncated like <see cref="Encode"/>): the hot path for batching.</summary>
    public int[] EncodeToIds(ReadOnlySpan<char> text, int? maxLength = null)
    {
        var collector = Run(text, maxLength, withDetails: false);
        var ids = new int[collector.Ids.Count + 2];
        ids[0] = _bosId;
        collector.Ids.CopyTo(ids, 1);
        ids[^1] = _eosId;
        return ids;
    }

    private TokenCollector Run(ReadOnlySpan<char> text, int? maxLength, bool withDetails)
    {
        int max = maxLength ?? ModelMaxLength;
        if (max < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), max, "max length must leave room for <s> and </s> (at least 2)");
        var scratch = t_scratch ??= new Scratch();
        var collector = scratch.Collector;
        collector.Reset(_model, max - 2, withDetails);
        int segmentStart = 0;
        while (!collector.Truncated && segmentStart <= text.Length)
        {
            var match = _addedTokens.FindNext(text, segmentStart);
            int segmentEnd = match?.Start ?? text.Length;
            TokenizeSegment(text, segmentStart, segmentEnd, scratch);
            if (match is not { } m) break;
            collector.AddSpecial(m.Token.Id, m.Token.Content, m.Start, m.End);
            segmentStart = m.End;
        }
        return collector;
    }

    /// <summary>Normalizes one stretch of raw text between added tokens and runs Viterbi on each '▁'-led word.</summary>
    private void TokenizeSegment(ReadOnlySpan<char> text, int start, int end, Scratch scratch)
    {
        var normalized = scratch.Normalized;
        _normalizer.Normalize(text, start, end, normalized);
        var chars = normalized.Span;
        var collector = scratch.Collector;
        int wordStart = 0;
        while (wordStart < chars.Length && !collector.Truncated)
        {
            int next = chars[(wordStart + 1)..].IndexOf(TextNormalizer.MetaspaceChar);
            int wordEnd = next < 0 ? chars.Length : wordStart + 1 + next;
            collector.BeginWord(normalized, wordStart);
            _model.Segment(chars[wordStart..wordEnd], scratch.Lattice, collector);
            wordStart = wordEnd;
        }
    }

    /// <summary>
    /// Text of <paramref name="ids"/>: pieces joined, '▁' read as a space, the leading space dropped;
    /// special tokens (&lt;s&gt;, &lt;pad&gt;, &lt;/s&gt;, &lt;unk&gt;, &lt;mask&gt;) left out unless asked for.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var sb = new StringBuilder();
        bool first = true;
        foreach (int id in ids)
        {
            if (skipSpecialTokens && _addedById.TryGetValue(id, out var added) && added.Special) continue;
            var token = IdToToken(id);
            for (int i = 0; i < token.Length; i++)
            {
                char c = token[i];
                if (c != TextNormalizer.MetaspaceChar) sb.Append(c);
                else if (!(first && i == 0)) sb.Append(' ');
            }
            first = false;
        }
        return sb.ToString();
    }

    /// <summary>The vocabulary piece of <paramref name="id"/> (e.g. "▁Hel"); ids outside the vocabulary throw.</summary>
    public string IdToToken(int id)
    {
        if (id >= 0 && id < _model.Count) return _model.PieceOf(id);
        if (_addedById.TryGetValue(id, out var added)) return added.Content;
        throw new ArgumentOutOfRangeException(nameof(id), id, $"not an id of this {VocabularySize}-token vocabulary");
    }

    /// <summary>The id of <paramref name="token"/> (an added token or a vocabulary piece), or null when unknown.</summary>
    public int? TokenToId(string token)
    {
        foreach (var added in _addedById.Values)
        {
            if (added.Content == token) return added.Id;
        }
        int id = _model.IdOf(token);
        return id >= 0 ? id : null;
    }

    /// <summary>Per-thread buffers so encoding allocates only its results.</summary>
    private sealed class Scratch
    {
        public readonly NormalizedText Normalized = new();
        public readonly Lattice Lattice = new();
        public readonly TokenCollector Collector = new();
    }
}

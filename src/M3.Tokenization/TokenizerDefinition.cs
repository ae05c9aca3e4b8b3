using M3.Tokenization.Normalization;
using M3.Tokenization.Pipeline;

namespace M3.Tokenization;

/// <summary>
/// Everything a tokenizer file describes, in the shape both loaders produce (tokenizer.json, or
/// sentencepiece.bpe.model converted as Hugging Face's XLMRobertaConverter does).
/// </summary>
/// <param name="Source">The file it was read from, for error messages.</param>
/// <param name="Pieces">Vocabulary pieces by id.</param>
/// <param name="Scores">Unigram log-probabilities by id.</param>
/// <param name="CharsMap">The Precompiled normalizer step, or null.</param>
/// <param name="SpaceRunReplacement">What Replace(" {2,}") turns a run of spaces into, or null when there is no such step.</param>
/// <param name="BosId">Id the post-processor puts first.</param>
/// <param name="EosId">Id the post-processor puts last.</param>
internal sealed record TokenizerDefinition(
    string Source,
    string[] Pieces,
    double[] Scores,
    int UnknownId,
    PrecompiledCharsMap? CharsMap,
    string? SpaceRunReplacement,
    IReadOnlyList<AddedToken> AddedTokens,
    int BosId,
    int EosId);

namespace M3.Tokenization;

/// <summary>Result of tokenizing one text.</summary>
/// <param name="Ids">Token ids, specials included.</param>
/// <param name="Tokens">Token strings, one per id: the vocabulary piece, the matched text for an unknown run, the content of an added token.</param>
/// <param name="Offsets">UTF-16 span [Start, End) of each token in the original text ((0,0) for the added &lt;s&gt;/&lt;/s&gt;).</param>
public sealed record TokenizedText(int[] Ids, string[] Tokens, (int Start, int End)[] Offsets)
{
    /// <summary>The text had more tokens than the max length allowed; only the first ones were kept.</summary>
    public bool Truncated { get; init; }
}

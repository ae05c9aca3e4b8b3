using System.Buffers;

namespace M3.Tokenization.Pipeline;

/// <summary>
/// Finds added tokens in raw text the way Hugging Face's AddedVocabulary does: leftmost-longest,
/// non-overlapping matches, then lstrip/rstrip widen a match over adjacent Unicode whitespace.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly AddedToken[] _byLengthDescending;
    private readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byLengthDescending = tokens.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();
        _firstChars = SearchValues.Create(_byLengthDescending.Select(t => t.Content[0]).Distinct().ToArray());
    }

    /// <summary>
    /// Returns the next match at or after <paramref name="from"/>: its token and [Start, End) including stripped
    /// whitespace (never reaching back before <paramref name="from"/>), or null when there is none.
    /// </summary>
    public (AddedToken Token, int Start, int End)? FindNext(ReadOnlySpan<char> text, int from)
    {
        int pos = from;
        while (pos < text.Length)
        {
            int hit = text[pos..].IndexOfAny(_firstChars);
            if (hit < 0) return null;
            pos += hit;
            foreach (var token in _byLengthDescending)
            {
                if (!text[pos..].StartsWith(token.Content, StringComparison.Ordinal)) continue;
                int start = pos, end = pos + token.Content.Length;
                if (token.LStrip)
                {
                    while (start > from && char.IsWhiteSpace(text[start - 1])) start--;
                }
                if (token.RStrip)
                {
                    while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
                }
                return (token, start, end);
            }
            pos++;
        }
        return null;
    }
}

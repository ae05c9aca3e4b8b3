using System.Globalization;

namespace M3.Tokenization.Normalization;

/// <summary>
/// Answers "is this char a grapheme cluster on its own?" from a table instead of running the UAX #29 rules at
/// every char (they are the normalizer's main cost). A BMP char pair (c, n) surely breaks when c glues to no
/// ordinary char after it (not Prepend) and n glues to no ordinary char before it (not Extend, ZWJ,
/// SpacingMark) — pair rules aside: CR LF and Hangul jamo/syllables are left to the full rules, as are
/// surrogates (regional indicators, astral marks). The table is derived from .NET's own segmentation.
/// </summary>
internal static class GraphemeShortcut
{
    private const byte BreaksAfter = 1, BreaksBefore = 2;
    private static readonly byte[] Table = BuildTable();

    /// <summary>True when a cluster starting at <paramref name="c"/> followed by <paramref name="next"/> is just <paramref name="c"/>.</summary>
    public static bool BreaksBetween(char c, char next) =>
        (Table[c] & BreaksAfter) != 0 && (Table[next] & BreaksBefore) != 0;

    private static byte[] BuildTable()
    {
        var table = new byte[char.MaxValue + 1];
        Span<char> pair = stackalloc char[2];
        for (int i = 0; i <= char.MaxValue; i++)
        {
            char c = (char)i;
            if (char.IsSurrogate(c) || c == '\r' || IsHangul(c)) continue;
            byte flags = 0;
            pair[0] = c;
            pair[1] = 'a';
            if (StringInfo.GetNextTextElementLength(pair) == 1) flags |= BreaksAfter;
            pair[0] = 'a';
            pair[1] = c;
            if (StringInfo.GetNextTextElementLength(pair) == 1) flags |= BreaksBefore;
            table[i] = flags;
        }
        return table;
    }

    private static bool IsHangul(char c) =>
        c is >= '\u1100' and <= '\u11FF' or >= '\uA960' and <= '\uA97F' or >= '\uAC00' and <= '\uD7FF';
}

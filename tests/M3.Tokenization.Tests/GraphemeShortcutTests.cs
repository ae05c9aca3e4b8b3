using System.Globalization;
using M3.Tokenization.Normalization;

namespace M3.Tokenization.Tests;

/// <summary>The table shortcut may only claim a break where the full UAX #29 rules break too.</summary>
public class GraphemeShortcutTests
{
    private static void AssertAgreesWithStringInfo(char c, char next)
    {
        if (char.IsSurrogate(c) || !GraphemeShortcut.BreaksBetween(c, next)) return;
        Assert.True(StringInfo.GetNextTextElementLength([c, next, 'x']) == 1,
            $"U+{(int)c:X4} U+{(int)next:X4}: the shortcut breaks where the rules do not");
    }

    [Fact]
    public void Agrees_with_string_info_on_tricky_pairs()
    {
        var tricky = new List<char> { '\r', '\n', '\t', ' ', 'a', '\u200D', '\u200C', '\u0301', '\u0600', '\u0605', '\u06DD', '\u070F',
            '\u0915', '\u094D', '\u0930', '\u0903', '\u0E33', '\u1100', '\u1161', '\u11A8', '\uAC00', '\uAC01', '\uFE0F', '\u2764', '\u3099', '\uFF9E' };
        for (char c = '\u0300'; c < '\u0370'; c++) tricky.Add(c);
        foreach (char c in tricky)
            foreach (char n in tricky)
                AssertAgreesWithStringInfo(c, n);
    }

    [Fact]
    public void Agrees_with_string_info_on_random_pairs()
    {
        var random = new Random(7);
        for (int i = 0; i < 300_000; i++) AssertAgreesWithStringInfo((char)random.Next(0x10000), (char)random.Next(0x10000));
    }

    [Fact]
    public void Cr_lf_is_never_split_by_the_shortcut() =>
        Assert.False(GraphemeShortcut.BreaksBetween('\r', '\n'));
}

using M3.Tokenization;

namespace M3.Core.Inference;

/// <summary>
/// BGE-M3's MCLS for long inputs without fine-tuning: <c>&lt;s&gt;</c> first, another <c>&lt;s&gt;</c> before content
/// tokens interval, 2·interval, …, <c>&lt;/s&gt;</c> last; content is cut from the end until the whole fits max length.
/// </summary>
internal static class Mcls
{
    public static int[] Build(ReadOnlySpan<int> content, int interval, int maxLength)
    {
        if (interval < 1) throw new ArgumentOutOfRangeException(nameof(interval), interval, "MCLS interval must be at least 1");
        int n = content.Length;
        while (n > 0 && Length(n, interval) > maxLength) n--;
        var ids = new int[Length(n, interval)];
        int o = 0;
        ids[o++] = XlmRobertaTokenizer.BosId;
        for (int i = 0; i < n; i++)
        {
            if (i > 0 && i % interval == 0) ids[o++] = XlmRobertaTokenizer.BosId;
            ids[o++] = content[i];
        }
        ids[o] = XlmRobertaTokenizer.EosId;
        return ids;
    }

    /// <summary>Sequence length for n content tokens: one leading &lt;s&gt;, one more per started interval after the first, &lt;/s&gt;.</summary>
    private static int Length(int n, int interval) => n + 2 + (n > 0 ? (n - 1) / interval : 0);
}

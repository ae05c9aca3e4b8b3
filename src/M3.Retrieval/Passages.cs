using M3.Tokenization;

namespace M3.Retrieval;

/// <summary>Splits a long text into overlapping windows of tokens, each cut from the original text at token boundaries.</summary>
internal static class Passages
{
    public static IReadOnlyList<string> Split(XlmRobertaTokenizer tokenizer, string text, int windowTokens, int overlap)
    {
        if (windowTokens < 1 || overlap < 0 || overlap >= windowTokens)
            throw new ArgumentException($"passage window {windowTokens} and overlap {overlap}: need window ≥ 1 and 0 ≤ overlap < window");
        var tokens = tokenizer.Encode(text, int.MaxValue);
        int content = tokens.Ids.Length - 2;
        if (content <= windowTokens) return [text];
        var result = new List<string>();
        for (int start = 0; ; start += windowTokens - overlap)
        {
            int end = Math.Min(start + windowTokens, content);
            int from = tokens.Offsets[start + 1].Start, to = tokens.Offsets[end].End;
            result.Add(text[from..to]);
            if (end == content) break;
        }
        return result;
    }
}

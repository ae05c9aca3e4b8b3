namespace M3.Tokenization.Pipeline;

/// <summary>A token matched in raw text before normalization (<c>&lt;s&gt;</c>, <c>&lt;mask&gt;</c>, …).</summary>
/// <param name="LStrip">Whitespace just before the token belongs to it (XLM-R's <c>&lt;mask&gt;</c>).</param>
/// <param name="RStrip">Whitespace just after the token belongs to it.</param>
/// <param name="Special">Dropped by <c>Decode(skipSpecialTokens: true)</c>.</param>
internal sealed record AddedToken(string Content, int Id, bool LStrip, bool RStrip, bool Special);

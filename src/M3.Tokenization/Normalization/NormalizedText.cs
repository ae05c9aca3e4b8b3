namespace M3.Tokenization.Normalization;

/// <summary>
/// A normalized segment: its UTF-16 chars and, for each char, the span of the original text it came from
/// (the alignment Hugging Face keeps in NormalizedString), so token offsets point back into the original.
/// Reused across calls to keep the hot path free of per-char allocations.
/// </summary>
internal sealed class NormalizedText
{
    public char[] Chars = new char[256];
    public int[] Start = new int[256];
    public int[] End = new int[256];
    public int Length;

    public void Clear() => Length = 0;

    public void Append(char c, int start, int end)
    {
        if (Length == Chars.Length) Grow();
        Chars[Length] = c;
        Start[Length] = start;
        End[Length] = end;
        Length++;
    }

    public ReadOnlySpan<char> Span => Chars.AsSpan(0, Length);

    private void Grow()
    {
        int size = Chars.Length * 2;
        Array.Resize(ref Chars, size);
        Array.Resize(ref Start, size);
        Array.Resize(ref End, size);
    }
}

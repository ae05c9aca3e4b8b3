using System.Globalization;
using System.Text;

namespace M3.Tokenization.Normalization;

/// <summary>
/// The normalizer + pre-tokenizer chain of XLM-RoBERTa's tokenizer.json, fused into one pass over a segment
/// of raw text: Precompiled charsmap → Replace(" {2,}" → content) → Metaspace (' ' → '▁', '▁' prepended when
/// the segment does not start with one). Splitting into words at each '▁' is left to the caller.
/// </summary>
internal sealed class TextNormalizer
{
    public const char MetaspaceChar = '\u2581';

    private readonly PrecompiledCharsMap? _charsMap;
    private readonly string? _spaceRunReplacement;
    private readonly string?[] _charReplacements = new string?[char.MaxValue + 1];

    /// <param name="charsMap">The Precompiled step, or null when the model has none.</param>
    /// <param name="spaceRunReplacement">What a run of two or more spaces becomes, or null for no Replace step.</param>
    public TextNormalizer(PrecompiledCharsMap? charsMap, string? spaceRunReplacement)
    {
        _charsMap = charsMap;
        _spaceRunReplacement = spaceRunReplacement;
        if (charsMap == null) return;
        // Every BMP char's own replacement, so single-char clusters (nearly all text) skip UTF-8 and the trie.
        Span<byte> utf8 = stackalloc byte[4];
        Span<char> one = stackalloc char[1];
        for (int c = 0; c <= char.MaxValue; c++)
        {
            if (char.IsSurrogate((char)c)) continue;
            one[0] = (char)c;
            _charReplacements[c] = charsMap.Transform(utf8[..Encoding.UTF8.GetBytes(one, utf8)]);
        }
    }

    /// <summary>Normalizes <paramref name="text"/>[start..end) into <paramref name="output"/> (cleared first).</summary>
    public void Normalize(ReadOnlySpan<char> text, int start, int end, NormalizedText output)
    {
        output.Clear();
        if (start == end) return;
        // Slot 0 is reserved for the Metaspace prefix so it never has to be inserted in front afterwards.
        output.Append(MetaspaceChar, start, start);
        var emitter = new Emitter(output, _spaceRunReplacement);
        if (_charsMap == null)
        {
            for (int i = start; i < end; i++) emitter.Emit(text[i], i, i + 1);
        }
        else
        {
            ApplyCharsMap(text, start, end, ref emitter);
        }
        emitter.Flush();
        FinishMetaspacePrefix(output);
    }

    /// <summary>
    /// Hugging Face applies the charsmap per grapheme cluster: the whole cluster when it is shorter than 6 UTF-8
    /// bytes and the trie has a prefix of it, else char by char. Looks odd, but it is what the reference does.
    /// </summary>
    private void ApplyCharsMap(ReadOnlySpan<char> text, int start, int end, ref Emitter emitter)
    {
        Span<byte> utf8 = stackalloc byte[8];
        int i = start;
        while (i < end)
        {
            char c = text[i];
            // A single-char cluster (nearly all text): its whole-cluster and per-char lookups coincide, use the cache.
            if (!char.IsSurrogate(c) && (i + 1 == end || GraphemeShortcut.BreaksBetween(c, text[i + 1])))
            {
                var repl = _charReplacements[c];
                if (repl == null) emitter.Emit(c, i, i + 1);
                else emitter.EmitAll(repl, i, i + 1);
                i++;
                continue;
            }
            var cluster = text.Slice(i, end - i);
            int length = StringInfo.GetNextTextElementLength(cluster);
            cluster = cluster[..length];
            if (Encoding.UTF8.GetByteCount(cluster) < 6)
            {
                int n = Encoding.UTF8.GetBytes(cluster, utf8);
                var repl = _charsMap!.Transform(utf8[..n]);
                if (repl != null)
                {
                    emitter.EmitAll(repl, i, i + length);
                    i += length;
                    continue;
                }
            }
            for (int j = 0; j < length;)
            {
                int scalarLength = char.IsHighSurrogate(cluster[j]) && j + 1 < length && char.IsLowSurrogate(cluster[j + 1]) ? 2 : 1;
                int n = Encoding.UTF8.GetBytes(cluster.Slice(j, scalarLength), utf8);
                var repl = _charsMap!.Transform(utf8[..n]);
                if (repl != null) emitter.EmitAll(repl, i + j, i + j + scalarLength);
                else
                {
                    for (int k = 0; k < scalarLength; k++) emitter.Emit(cluster[j + k], i + j, i + j + scalarLength);
                }
                j += scalarLength;
            }
            i += length;
        }
    }

    /// <summary>Metaspace "always": keep the reserved '▁' only when the text does not already start with one.</summary>
    private static void FinishMetaspacePrefix(NormalizedText output)
    {
        if (output.Length == 1)
        {
            output.Clear(); // everything was removed: an empty segment gets no prefix
            return;
        }
        if (output.Chars[1] == MetaspaceChar)
        {
            Array.Copy(output.Chars, 1, output.Chars, 0, output.Length - 1);
            Array.Copy(output.Start, 1, output.Start, 0, output.Length - 1);
            Array.Copy(output.End, 1, output.End, 0, output.Length - 1);
            output.Length--;
        }
        else
        {
            output.Start[0] = output.End[0] = output.Start[1];
        }
    }

    /// <summary>Collapses space runs (the Replace step) and turns spaces into '▁' (Metaspace) as chars stream out.</summary>
    private ref struct Emitter(NormalizedText output, string? spaceRunReplacement)
    {
        private int _pendingSpaces, _pendingStart, _pendingEnd;

        public void Emit(char c, int start, int end)
        {
            if (c == ' ' && spaceRunReplacement != null)
            {
                if (_pendingSpaces++ == 0) _pendingStart = start;
                _pendingEnd = end;
                return;
            }
            Flush();
            output.Append(c == ' ' ? MetaspaceChar : c, start, end);
        }

        public void EmitAll(string s, int start, int end)
        {
            foreach (char c in s) Emit(c, start, end);
        }

        public void Flush()
        {
            if (_pendingSpaces == 0) return;
            if (_pendingSpaces == 1) output.Append(MetaspaceChar, _pendingStart, _pendingEnd);
            else
            {
                foreach (char c in spaceRunReplacement!) output.Append(c == ' ' ? MetaspaceChar : c, _pendingStart, _pendingEnd);
            }
            _pendingSpaces = 0;
        }
    }
}

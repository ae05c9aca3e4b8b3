using System.Buffers.Binary;
using System.Text;

namespace M3.Tokenization.Normalization;

/// <summary>
/// SentencePiece's <c>precompiled_charsmap</c>: a darts-clone double-array trie over UTF-8 whose values point
/// into a blob of NUL-terminated replacement strings. Layout: u32 trie byte size, the trie units, the blob.
/// Written by hand because no .NET library reads this format; lookups follow spm_precompiled exactly
/// (the FIRST, i.e. shortest, prefix match wins, and a NUL byte ends the key).
/// </summary>
internal sealed class PrecompiledCharsMap
{
    private readonly uint[] _units;
    private readonly byte[] _blob;
    private readonly Dictionary<int, string> _replacements = new();

    private PrecompiledCharsMap(uint[] units, byte[] blob)
    {
        _units = units;
        _blob = blob;
    }

    /// <summary>Parses the binary charsmap; <paramref name="source"/> names the file in errors.</summary>
    public static PrecompiledCharsMap Parse(ReadOnlySpan<byte> data, string source)
    {
        if (data.Length < 4) throw Corrupt(source, "shorter than its 4-byte header");
        uint trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (trieBytes % 4 != 0 || trieBytes == 0 || trieBytes > data.Length - 4)
            throw Corrupt(source, $"declares a trie of {trieBytes} bytes in {data.Length - 4} bytes of data");
        var units = new uint[trieBytes / 4];
        for (int i = 0; i < units.Length; i++) units[i] = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(4 + 4 * i));
        var blob = data.Slice(4 + (int)trieBytes).ToArray();
        var map = new PrecompiledCharsMap(units, blob);
        map.PrecomputeReplacements(source);
        return map;
    }

    private static TokenizerException Corrupt(string source, string what) =>
        new($"{source}: precompiled_charsmap is corrupt ({what}; expected a SentencePiece double-array trie)");

    /// <summary>
    /// Decodes every replacement string up front: the values are few (a few thousand), lookups then cost
    /// no allocation, and a value pointing outside the blob is reported at load time instead of mid-encode.
    /// </summary>
    private void PrecomputeReplacements(string source)
    {
        for (int i = 0; i < _units.Length; i++)
        {
            uint unit = _units[i];
            if (!HasLeaf(unit)) continue;
            int leafPos = i ^ (int)Offset(unit);
            if ((uint)leafPos >= (uint)_units.Length) continue; // not a live node of this trie
            int value = (int)(_units[leafPos] & 0x7FFFFFFF);
            if (_replacements.ContainsKey(value)) continue;
            if (value > _blob.Length) throw Corrupt(source, $"replacement offset {value} outside a {_blob.Length}-byte table");
            int end = Array.IndexOf(_blob, (byte)0, value);
            if (end < 0) end = _blob.Length;
            _replacements[value] = Encoding.UTF8.GetString(_blob, value, end - value);
        }
    }

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;
    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);

    /// <summary>The replacement for the shortest trie key that is a prefix of <paramref name="utf8"/>, or null.</summary>
    public string? Transform(ReadOnlySpan<byte> utf8)
    {
        var units = _units;
        uint nodePos = Offset(units[0]);
        foreach (byte b in utf8)
        {
            if (b == 0) return null;
            nodePos ^= b;
            if (nodePos >= (uint)units.Length) return null;
            uint unit = units[nodePos];
            if (Label(unit) != b) return null;
            nodePos ^= Offset(unit);
            if (HasLeaf(unit))
            {
                if (nodePos >= (uint)units.Length) return null;
                return _replacements.GetValueOrDefault((int)(units[nodePos] & 0x7FFFFFFF));
            }
        }
        return null;
    }
}

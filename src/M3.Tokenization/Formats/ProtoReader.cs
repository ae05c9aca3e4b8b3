using System.Buffers.Binary;

namespace M3.Tokenization.Formats;

/// <summary>
/// A minimal reader of the protobuf wire format (varint, fixed32, length-delimited), enough to walk a
/// SentencePiece ModelProto without generated code; every read is bounds-checked so a truncated file
/// fails with the byte position instead of an index error.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data, string source)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public bool End => _pos >= _data.Length;

    /// <summary>Reads a field key: field number and wire type.</summary>
    public (int Field, int WireType) ReadTag()
    {
        ulong key = ReadVarint();
        if (key >> 3 == 0 || key >> 3 > int.MaxValue) throw Corrupt($"invalid field number {key >> 3}");
        return ((int)(key >> 3), (int)(key & 7));
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length) throw Corrupt("truncated varint");
            byte b = _data[_pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Corrupt("varint longer than 10 bytes");
    }

    public float ReadFloat()
    {
        if (_pos + 4 > _data.Length) throw Corrupt("truncated fixed32");
        float value = BinaryPrimitives.ReadSingleLittleEndian(_data.Slice(_pos, 4));
        _pos += 4;
        return value;
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _pos)) throw Corrupt($"length {length} runs past the end of the data");
        var bytes = _data.Slice(_pos, (int)length);
        _pos += (int)length;
        return bytes;
    }

    /// <summary>Skips a field of the given wire type.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Advance(8); break;
            case 2: ReadBytes(); break;
            case 5: Advance(4); break;
            default: throw Corrupt($"unsupported wire type {wireType}");
        }
    }

    private void Advance(int n)
    {
        if (_pos + n > _data.Length) throw Corrupt("truncated field");
        _pos += n;
    }

    private readonly TokenizerException Corrupt(string what) =>
        new($"{source}: corrupt or truncated protobuf near byte {_pos} ({what}); expected a SentencePiece ModelProto");
}

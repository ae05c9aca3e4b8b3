using System.Runtime.InteropServices;
using M3.Core.Representations;

namespace M3.Retrieval.Storage;

/// <summary>A passage's exact sparse weights in its row: count × int32 ids, then count × float32 weights (little-endian).</summary>
internal static class SparseCodec
{
    public static byte[] Encode(SparseVector v)
    {
        var bytes = new byte[v.Count * 8];
        MemoryMarshal.AsBytes(v.Ids).CopyTo(bytes);
        MemoryMarshal.AsBytes(v.Weights).CopyTo(bytes.AsSpan(v.Count * 4));
        return bytes;
    }

    public static SparseVector Decode(ReadOnlySpan<byte> blob)
    {
        int n = blob.Length / 8;
        return new SparseVector(MemoryMarshal.Cast<byte, int>(blob[..(n * 4)]).ToArray(), MemoryMarshal.Cast<byte, float>(blob[(n * 4)..]).ToArray());
    }
}

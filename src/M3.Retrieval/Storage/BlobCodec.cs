using System.Runtime.InteropServices;
using M3.Core.Representations;

namespace M3.Retrieval.Storage;

/// <summary>Little-endian byte layouts of the representations in SQLite blobs.</summary>
internal static class BlobCodec
{
    public static byte[] Floats(ReadOnlySpan<float> values) => MemoryMarshal.AsBytes(values).ToArray();

    public static float[] ToFloats(byte[] blob) => MemoryMarshal.Cast<byte, float>(blob).ToArray();

    /// <summary>ColBERT rows as float16 (half the size; opt-in, since it changes scores in the 4th digit).</summary>
    public static byte[] Halves(ReadOnlySpan<float> values)
    {
        var halves = new Half[values.Length];
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
    }

    public static float[] FromHalves(byte[] blob)
    {
        var halves = MemoryMarshal.Cast<byte, Half>(blob);
        var result = new float[halves.Length];
        for (int i = 0; i < halves.Length; i++) result[i] = (float)halves[i];
        return result;
    }

    /// <summary>Sparse vector as count × int32 ids then count × float32 weights.</summary>
    public static byte[] Sparse(SparseVector v)
    {
        var bytes = new byte[v.Count * 8];
        MemoryMarshal.AsBytes(v.Ids).CopyTo(bytes);
        MemoryMarshal.AsBytes(v.Weights).CopyTo(bytes.AsSpan(v.Count * 4));
        return bytes;
    }

    public static SparseVector ToSparse(byte[] blob)
    {
        int n = blob.Length / 8;
        return new SparseVector(MemoryMarshal.Cast<byte, int>(blob.AsSpan(0, n * 4)).ToArray(),
                                MemoryMarshal.Cast<byte, float>(blob.AsSpan(n * 4)).ToArray());
    }
}

using System.IO.Hashing;

namespace M3.Retrieval.Storage;

/// <summary>CRC-32 of each stored vector, kept in the passage's row: flipped bytes in a vector file are caught when the row is read.</summary>
internal static class RowChecksum
{
    public static long Of(ReadOnlySpan<byte> bytes) => Crc32.HashToUInt32(bytes);

    public static void Verify(ReadOnlySpan<byte> bytes, long expected, string what, string docId, string file)
    {
        if (Of(bytes) != expected)
            throw new InvalidDataException($"{file}: the stored {what} of document '{docId}' fails its checksum (the file was changed or damaged); delete and re-add that document, or rebuild the index");
    }
}

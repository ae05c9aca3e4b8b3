using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;

namespace M3.Retrieval.Search;

/// <summary>
/// A base segment's inverted index, memory-mapped: opening it reads a header, and queries touch only the blocks they
/// decode. Layout (little-endian): a header; the segment's live passage seqs (int32, ascending); per token a block table
/// (last seq, block max, data offset, count) followed by its blocks (seq deltas as LEB128 varints, then exact float32
/// weights, so scores computed from postings equal <see cref="M3.Core.Scoring.M3Scores.Sparse"/>); and a directory of
/// tokens sorted by id. Hand-written because no maintained .NET library offers block-max postings over a mapped file
/// (Lucene.NET's are tied to its own scoring and segment lifecycle).
/// </summary>
internal sealed unsafe class PostingsFile : IDisposable
{
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("M3POST01");
    private const int HeaderBytes = 48, EntryBytes = 24, BlockEntryBytes = 24;
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _length, _seqsOffset, _directoryOffset;

    private PostingsFile(string path)
    {
        Path = path;
        _length = new FileInfo(path).Length;
        if (_length < HeaderBytes) throw new InvalidDataException($"{path}: too short for a postings file");
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
        var header = Bytes(0, HeaderBytes);
        if (!header[..8].SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not a postings file");
        Watermark = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        PassageCount = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        TokenCount = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        _seqsOffset = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        _directoryOffset = BinaryPrimitives.ReadInt64LittleEndian(header[32..]);
        if (BinaryPrimitives.ReadInt64LittleEndian(header[40..]) != _length || _directoryOffset + (long)TokenCount * EntryBytes != _length
            || _seqsOffset + PassageCount * 4L > _directoryOffset)
            throw new InvalidDataException($"{path}: truncated or damaged postings file");
    }

    public static PostingsFile Open(string path) => new(path);

    public string Path { get; }
    public long Watermark { get; }
    public int PassageCount { get; }
    public int TokenCount { get; }

    private ReadOnlySpan<byte> Bytes(long offset, int length)
    {
        if (offset < 0 || offset + length > _length) throw new InvalidDataException($"{Path}: reference past the end of the file; the file is damaged");
        return new ReadOnlySpan<byte>(_base + offset, length);
    }

    /// <summary>The segment's live passages, ascending.</summary>
    public ReadOnlySpan<int> Seqs => new(_base + _seqsOffset, PassageCount);

    public IPostingList? Find(int token)
    {
        int lo = 0, hi = TokenCount - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var entry = Bytes(_directoryOffset + (long)mid * EntryBytes, EntryBytes);
            int t = BinaryPrimitives.ReadInt32LittleEndian(entry);
            if (t == token)
                return new List(this, BinaryPrimitives.ReadInt32LittleEndian(entry[4..]), BinaryPrimitives.ReadInt32LittleEndian(entry[8..]),
                    BinaryPrimitives.ReadSingleLittleEndian(entry[12..]), BinaryPrimitives.ReadInt64LittleEndian(entry[16..]));
            if (t < token) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }

    /// <summary>Every token's postings in id order (for merging into a new segment).</summary>
    public IEnumerable<(int Token, IPostingList List)> All()
    {
        for (int i = 0; i < TokenCount; i++)
        {
            int token = BinaryPrimitives.ReadInt32LittleEndian(Bytes(_directoryOffset + (long)i * EntryBytes, 4));
            yield return (token, Find(token)!);
        }
    }

    private sealed class List(PostingsFile file, int count, int blocks, float max, long offset) : IPostingList
    {
        public int Count => count;
        public float MaxWeight => max;
        public int BlockCount => blocks;
        private ReadOnlySpan<byte> Entry(int block) => file.Bytes(offset + (long)block * BlockEntryBytes, BlockEntryBytes);
        public int BlockLast(int block) => BinaryPrimitives.ReadInt32LittleEndian(Entry(block));
        public float BlockMax(int block) => BinaryPrimitives.ReadSingleLittleEndian(Entry(block)[4..]);

        public int Decode(int block, int[] seqs, float[] weights)
        {
            var entry = Entry(block);
            long data = BinaryPrimitives.ReadInt64LittleEndian(entry[8..]);
            int n = BinaryPrimitives.ReadInt32LittleEndian(entry[16..]);
            if (n is < 1 or > IPostingList.BlockSize) throw new InvalidDataException($"{file.Path}: damaged block table");
            int previous = block == 0 ? 0 : BlockLast(block - 1);
            var bytes = file.Bytes(data, (int)Math.Min(n * 9L, file._length - data));
            int at = 0;
            for (int i = 0; i < n; i++)
            {
                int delta = 0;
                for (int shift = 0; ; shift += 7)
                {
                    byte b = bytes[at++];
                    delta |= (b & 0x7f) << shift;
                    if (b < 0x80) break;
                }
                seqs[i] = previous += delta;
            }
            var w = file.Bytes(data + at, n * 4);
            for (int i = 0; i < n; i++) weights[i] = BinaryPrimitives.ReadSingleLittleEndian(w[(i * 4)..]);
            return n;
        }
    }

    /// <summary>
    /// Writes a segment: <paramref name="seqs"/> ascending, <paramref name="tokens"/> in ascending token order, each list
    /// seq-ascending. Written to <paramref name="path"/> directly; callers write to a temporary name and rename.
    /// </summary>
    public static void Write(string path, long watermark, IReadOnlyList<int> seqs, IEnumerable<(int Token, int[] Seqs, float[] Weights)> tokens)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(stream);
        w.Write(new byte[HeaderBytes]);
        long seqsOffset = stream.Position;
        foreach (var s in seqs) w.Write(s);
        var directory = new List<(int Token, int Count, int Blocks, float Max, long Offset)>();
        var data = new MemoryStream();
        Span<byte> f = stackalloc byte[4];
        foreach (var (token, list, weights) in tokens)
        {
            if (list.Length == 0) continue;
            int blocks = (list.Length + IPostingList.BlockSize - 1) / IPostingList.BlockSize;
            long tableOffset = stream.Position, dataStart = tableOffset + (long)blocks * BlockEntryBytes;
            data.SetLength(0);
            var table = new (int Last, float Max, long Offset, int Count)[blocks];
            int previous = 0;
            for (int b = 0; b < blocks; b++)
            {
                int start = b * IPostingList.BlockSize, n = Math.Min(IPostingList.BlockSize, list.Length - start);
                long at = dataStart + data.Length;
                float max = 0;
                for (int i = start; i < start + n; i++)
                {
                    uint delta = (uint)(list[i] - previous);
                    previous = list[i];
                    while (delta >= 0x80) { data.WriteByte((byte)(delta | 0x80)); delta >>= 7; }
                    data.WriteByte((byte)delta);
                    max = MathF.Max(max, weights[i]);
                }
                for (int i = start; i < start + n; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(f, weights[i]);
                    data.Write(f);
                }
                table[b] = (list[start + n - 1], max, at, n);
            }
            foreach (var (last, max, offset, count) in table)
            {
                w.Write(last);
                w.Write(max);
                w.Write(offset);
                w.Write(count);
                w.Write(0);
            }
            data.Position = 0;
            data.CopyTo(stream);
            directory.Add((token, list.Length, blocks, table.Max(t => t.Max), tableOffset));
        }
        long directoryOffset = stream.Position;
        foreach (var (token, count, blocks, max, offset) in directory)
        {
            w.Write(token);
            w.Write(count);
            w.Write(blocks);
            w.Write(max);
            w.Write(offset);
        }
        long length = stream.Position;
        w.Flush();
        stream.Position = 0;
        w.Write(Magic);
        w.Write(watermark);
        w.Write(seqs.Count);
        w.Write(directory.Count);
        w.Write(seqsOffset);
        w.Write(directoryOffset);
        w.Write(length);
        w.Flush();
        stream.Flush(flushToDisk: true);
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}

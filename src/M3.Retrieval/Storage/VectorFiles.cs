using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace M3.Retrieval.Storage;

/// <summary>
/// The vectors next to index.db, read on demand with positional reads (the page cache holds what queries touch; nothing
/// is loaded at open). dense.f32 holds passage seq's float32 dense row at (seq − 1) · dimension · 4; colbert.bin holds
/// ColBERT rows at the offsets recorded in the passages' rows. Writers put a batch's vectors past the committed end and
/// flush them to disk before the SQLite transaction that references them commits, so a crash leaves at most unreferenced
/// bytes, overwritten by the next batch.
/// </summary>
internal sealed partial class VectorFiles : IDisposable
{
    public const string DenseName = "dense.f32", ColbertName = "colbert.bin";
    private readonly SafeFileHandle _dense, _colbert;

    public VectorFiles(string directory, int dimension, bool writable)
    {
        Dimension = dimension;
        DensePath = Path.Combine(directory, DenseName);
        ColbertPath = Path.Combine(directory, ColbertName);
        var mode = writable ? FileMode.OpenOrCreate : FileMode.Open;
        var access = writable ? FileAccess.ReadWrite : FileAccess.Read;
        _dense = File.OpenHandle(DensePath, mode, access, FileShare.ReadWrite | FileShare.Delete);
        _colbert = File.OpenHandle(ColbertPath, mode, access, FileShare.ReadWrite | FileShare.Delete);
    }

    public int Dimension { get; }
    public string DensePath { get; }
    public string ColbertPath { get; }
    public int DenseRowBytes => Dimension * 4;

    public static long DenseOffset(long seq, int dimension) => (seq - 1) * dimension * 4L;

    public void ReadDense(long seq, Span<float> row)
    {
        var bytes = MemoryMarshal.AsBytes(row);
        if (RandomAccess.Read(_dense, bytes, DenseOffset(seq, Dimension)) != bytes.Length)
            throw new IndexException($"{DensePath}: ends before passage {seq}'s dense vector; the file was truncated: rebuild the index");
    }

    /// <summary>Reads consecutive dense rows starting at <paramref name="firstSeq"/> (for exact scans).</summary>
    public int ReadDenseRange(long firstSeq, Span<float> rows) =>
        RandomAccess.Read(_dense, MemoryMarshal.AsBytes(rows), DenseOffset(firstSeq, Dimension)) / DenseRowBytes;

    /// <summary>Fills <paramref name="bytes"/> with one read from <paramref name="offset"/> (a passage's rows are contiguous).</summary>
    public void ReadColbert(long offset, Span<byte> bytes)
    {
        if (RandomAccess.Read(_colbert, bytes, offset) != bytes.Length)
            throw new IndexException($"{ColbertPath}: ends before a ColBERT row at byte {offset}; the file was truncated: rebuild the index");
    }

    /// <summary>
    /// Tells the kernel that these ColBERT bytes are about to be read (Linux: posix_fadvise WILLNEED), so reads of every
    /// candidate start at once instead of one positional read at a time per scoring thread when they are not cached.
    /// A hint only: elsewhere, or if it fails, the reads just happen when scored.
    /// </summary>
    public void WillRead(IEnumerable<(long Offset, long Length)> ranges)
    {
        if (!OperatingSystem.IsLinux()) return;
        bool added = false;
        try
        {
            _colbert.DangerousAddRef(ref added);
            int fd = (int)_colbert.DangerousGetHandle();
            foreach (var (offset, length) in ranges) _ = PosixFadvise(fd, offset, length, PosixFadvWillNeed);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or ObjectDisposedException) { }
        finally
        {
            if (added) _colbert.DangerousRelease();
        }
    }

    private const int PosixFadvWillNeed = 3;

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);

    public void WriteDense(long seq, ReadOnlySpan<float> row)
    {
        try { RandomAccess.Write(_dense, MemoryMarshal.AsBytes(row), DenseOffset(seq, Dimension)); }
        catch (IOException e) { throw WriteFailed(DensePath, e); }
    }

    public void WriteColbert(long offset, ReadOnlySpan<byte> bytes)
    {
        try { RandomAccess.Write(_colbert, bytes, offset); }
        catch (IOException e) { throw WriteFailed(ColbertPath, e); }
    }

    public void Flush()
    {
        try
        {
            RandomAccess.FlushToDisk(_dense);
            RandomAccess.FlushToDisk(_colbert);
        }
        catch (IOException e) { throw WriteFailed(DensePath, e); }
    }

    private static IOException WriteFailed(string path, IOException e) =>
        new($"{path}: cannot write vectors ({e.Message}); the batch in flight was not committed (the index holds every earlier batch): free disk space and run the command again", e);

    public void Dispose()
    {
        _dense.Dispose();
        _colbert.Dispose();
    }
}

using System.IO.Compression;

namespace M3.Core.Checkpoint;

/// <summary>
/// Reads a PyTorch zip checkpoint (<c>torch.save</c> since 1.6: <c>pytorch_model.bin</c>, <c>colbert_linear.pt</c>, …):
/// <c>&lt;prefix&gt;/data.pkl</c> pickles the state dict, each storage lives in <c>&lt;prefix&gt;/data/&lt;key&gt;</c>.
/// The pickle runs in <see cref="RestrictedUnpickler"/>, which builds tensor references and nothing else.
/// </summary>
public sealed class PyTorchZipFile : ITensorFile
{
    /// <summary>
    /// A state dict's pickle holds a few hundred bytes per tensor (BGE-M3's is under 100 KB): 64 MiB is far beyond any real
    /// checkpoint's and keeps a crafted one from inflating gigabytes into memory.
    /// </summary>
    internal const long MaxPickleBytes = 64L << 20;

    /// <summary>DEFLATE cannot shrink data by more than about 1032:1, so a member claiming more is lying about its size.</summary>
    private const long MaxInflateRatio = 1032;

    private readonly ZipArchive _zip;
    private readonly string _prefix;
    private readonly Dictionary<string, TorchTensorRef> _refs;
    private readonly Dictionary<string, TensorInfo> _tensors;
    private readonly Lock _gate = new(); // ZipArchive is not thread-safe

    private PyTorchZipFile(string path, ZipArchive zip, string prefix, Dictionary<string, TorchTensorRef> refs)
    {
        FilePath = path;
        _zip = zip;
        _prefix = prefix;
        _refs = refs;
        _tensors = refs.ToDictionary(r => r.Key, r => new TensorInfo(r.Key, r.Value.Shape, r.Value.Storage.DType), StringComparer.Ordinal);
    }

    public string FilePath { get; }

    public IReadOnlyDictionary<string, TensorInfo> Tensors => _tensors;

    public static PyTorchZipFile Open(string path)
    {
        Stream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, null, "cannot open the PyTorch checkpoint: " + e.Message, e);
        }
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            stream.Dispose();
            throw new CheckpointException(path, null,
                "not a readable zip archive (" + e.Message + "): the file is truncated or corrupt, or not a PyTorch checkpoint saved by torch.save ≥ 1.6 (legacy non-zip files are not supported)", e);
        }
        try
        {
            return Parse(path, zip);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    public void ReadInto(string name, Span<float> destination)
    {
        TensorFileSupport.Lookup(this, name, destination.Length);
        var tensor = _refs[name];
        lock (_gate)
        {
            if (IsContiguous(tensor))
            {
                ReadStorage(name, tensor.Storage, tensor.Offset, destination);
                return;
            }
            // Rare (a view saved without .contiguous()): read the storage span the view touches, then gather by strides.
            long last = tensor.Offset;
            for (var d = 0; d < tensor.Shape.Length; d++) last += (tensor.Shape[d] - 1L) * tensor.Strides[d];
            var span = new float[last - tensor.Offset + 1];
            ReadStorage(name, tensor.Storage, tensor.Offset, span);
            Gather(span, tensor.Shape, tensor.Strides, destination);
        }
    }

    public CheckpointTensor Read(string name) => TensorFileSupport.ReadNew(this, name);

    public void Dispose() => _zip.Dispose();

    private static PyTorchZipFile Parse(string path, ZipArchive zip)
    {
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
        if (pickles.Count != 1)
            throw new CheckpointException(path, null,
                $"expected exactly one '<name>/data.pkl' entry in the archive, found {pickles.Count} (entries: {string.Join(", ", zip.Entries.Take(8).Select(e => e.FullName))})");
        var pickleEntry = pickles[0];
        var prefix = pickleEntry.FullName[..^"data.pkl".Length];

        var byteOrder = zip.GetEntry(prefix + "byteorder");
        if (byteOrder != null)
        {
            var order = System.Text.Encoding.ASCII.GetString(ReadMember(path, byteOrder, limit: 16)).Trim();
            if (order != "little")
                throw new CheckpointException(path, null, $"byteorder is '{order}'; only little-endian checkpoints are supported");
        }

        var pickle = ReadMember(path, pickleEntry, MaxPickleBytes);
        var refs = RestrictedUnpickler.LoadStateDict(pickle, path, pickleEntry.FullName);
        var file = new PyTorchZipFile(path, zip, prefix, refs);
        foreach (var (name, tensor) in refs) file.CheckStorage(name, tensor);
        return file;
    }

    /// <summary>
    /// A whole small member (the pickle, the byte order), read only after its declared size passes <paramref name="limit"/>
    /// and is plausible for the bytes the archive really holds, and refused if it inflates to more or fewer bytes than declared.
    /// </summary>
    private static byte[] ReadMember(string path, ZipArchiveEntry entry, long limit)
    {
        CheckDeclaredSize(path, null, entry);
        if (entry.Length > limit)
            throw new CheckpointException(path, null,
                $"archive member '{entry.FullName}' declares {entry.Length} bytes, more than the {limit} a state dict's checkpoint can need; " +
                "the file is damaged or not a checkpoint saved by torch.save: download it again");
        var bytes = new byte[entry.Length];
        try
        {
            using var stream = entry.Open();
            var n = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (n < bytes.Length)
                throw new CheckpointException(path, null, $"archive member '{entry.FullName}' ends after {n} of its declared {entry.Length} bytes (truncated): download the file again");
            if (stream.ReadByte() >= 0)
                throw new CheckpointException(path, null, $"archive member '{entry.FullName}' inflates to more than its declared {entry.Length} bytes: the file is damaged, download it again");
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException(path, null, $"archive member '{entry.FullName}' is corrupt ({e.Message}): download the file again", e);
        }
        return bytes;
    }

    /// <summary>The zip's sizes are as untrusted as the rest: a member cannot hold more compressed bytes than the file, nor inflate beyond DEFLATE's ratio.</summary>
    private static void CheckDeclaredSize(string path, string? tensor, ZipArchiveEntry entry)
    {
        // The Hugging Face cache holds snapshots as symlinks to blobs: the size that bounds the archive is the target's.
        var file = new FileInfo(path);
        var fileLength = (file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? file).Length;
        if (entry.CompressedLength > fileLength || entry.Length > Math.Max(entry.CompressedLength, 1) * MaxInflateRatio)
            throw new CheckpointException(path, tensor,
                $"archive member '{entry.FullName}' declares {entry.Length} bytes from {entry.CompressedLength} compressed bytes in a {fileLength}-byte file, " +
                "which no zip can hold: the file is damaged or crafted, download it again");
    }

    /// <summary>Checks at open time that the storage exists and is large enough for the view, so truncation is caught before any read.</summary>
    private void CheckStorage(string name, TorchTensorRef tensor)
    {
        var entry = _zip.GetEntry(_prefix + "data/" + tensor.Storage.Key)
            ?? throw new CheckpointException(FilePath, name, $"storage entry '{_prefix}data/{tensor.Storage.Key}' is missing from the archive");
        CheckDeclaredSize(FilePath, name, entry);
        var elementSize = TensorDType.ElementSize(tensor.Storage.DType)!.Value;
        if (tensor.Storage.ElementCount < 0 || entry.Length % elementSize != 0 || entry.Length / elementSize != tensor.Storage.ElementCount)
            throw new CheckpointException(FilePath, name,
                $"storage '{entry.FullName}' holds {entry.Length} bytes but the pickle declares {tensor.Storage.ElementCount} {tensor.Storage.DType} elements ({(Int128)tensor.Storage.ElementCount * elementSize} bytes)");
        if (tensor.Shape.Contains(0)) return;
        // Int128: dimensions and strides from a crafted pickle can overflow a long.
        Int128 last = tensor.Offset;
        for (var d = 0; d < tensor.Shape.Length; d++) last += (tensor.Shape[d] - (Int128)1) * tensor.Strides[d];
        if (tensor.Offset < 0 || last >= tensor.Storage.ElementCount)
            throw new CheckpointException(FilePath, name,
                $"shape {CheckpointTensor.FormatShape(tensor.Shape)} at storage offset {tensor.Offset} reaches element {last}, beyond the storage's {tensor.Storage.ElementCount} elements");
        Int128 count = 1;
        foreach (var d in tensor.Shape)
            if ((count *= d) > tensor.Storage.ElementCount)
                throw new CheckpointException(FilePath, name,
                    $"shape {CheckpointTensor.FormatShape(tensor.Shape)} has more elements than its storage's {tensor.Storage.ElementCount} (overlapping strides): " +
                    "a state dict never saves such views, the pickle is damaged or crafted");
    }

    private void ReadStorage(string name, TorchStorageRef storage, long elementOffset, Span<float> destination)
    {
        var entry = _zip.GetEntry(_prefix + "data/" + storage.Key)!;
        var elementSize = TensorDType.ElementSize(storage.DType)!.Value;
        try
        {
            using var stream = entry.Open();
            Skip(stream, elementOffset * elementSize);
            TensorFileSupport.Fill(storage.DType, destination, stream.Read,
                () => throw new CheckpointException(FilePath, name, $"storage '{entry.FullName}' ends inside this tensor's data"));
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new CheckpointException(FilePath, name, $"storage '{entry.FullName}' is corrupt: {e.Message}", e);
        }
    }

    private static void Skip(Stream stream, long bytes)
    {
        if (bytes == 0) return;
        if (stream.CanSeek)
        {
            stream.Seek(bytes, SeekOrigin.Current);
            return;
        }
        var buffer = new byte[Math.Min(bytes, 1 << 16)];
        while (bytes > 0)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, bytes));
            if (n == 0) throw new EndOfStreamException();
            bytes -= n;
        }
    }

    private static bool IsContiguous(TorchTensorRef tensor)
    {
        long expected = 1;
        for (var d = tensor.Shape.Length - 1; d >= 0; d--)
        {
            if (tensor.Shape[d] != 1 && tensor.Strides[d] != expected) return false;
            expected *= tensor.Shape[d];
        }
        return true;
    }

    private static void Gather(ReadOnlySpan<float> source, int[] shape, long[] strides, Span<float> destination)
    {
        var index = new int[shape.Length];
        for (var i = 0; i < destination.Length; i++)
        {
            long at = 0;
            for (var d = 0; d < shape.Length; d++) at += index[d] * strides[d];
            destination[i] = source[(int)at];
            for (var d = shape.Length - 1; d >= 0 && ++index[d] == shape[d]; d--) index[d] = 0;
        }
    }
}

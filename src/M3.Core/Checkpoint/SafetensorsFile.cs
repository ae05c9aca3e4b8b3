using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace M3.Core.Checkpoint;

/// <summary>
/// Reads a <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header mapping each tensor name to
/// its dtype, shape and byte range in the data section, then the data. The header is checked in full when the file is opened
/// (ranges in bounds, contiguous, sized shape × dtype), tensors are read on request.
/// Written by hand because the format is tiny and no maintained .NET package reads it.
/// </summary>
internal sealed class SafetensorsFile : ITensorFile
{
    /// <summary>The safetensors reference implementation refuses headers above 100 MB; so do we, before allocating.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, long> _dataStart = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorInfo> _tensors;

    private SafetensorsFile(string path, SafeFileHandle handle, Dictionary<string, TensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        _handle = handle;
        _tensors = tensors;
        Metadata = metadata;
    }

    public string FilePath { get; }

    public IReadOnlyDictionary<string, TensorInfo> Tensors => _tensors;

    /// <summary>The optional <c>__metadata__</c> string map (e.g. <c>format: pt</c>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsFile Open(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, null, "cannot open the safetensors file: " + e.Message, e);
        }
        try
        {
            return Parse(path, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void ReadInto(string name, Span<float> destination)
    {
        var info = TensorFileSupport.Lookup(this, name, destination.Length, allowIntegers: true);
        var position = _dataStart[name];
        TensorFileSupport.Fill(info.DType, destination,
            buffer =>
            {
                var n = RandomAccess.Read(_handle, buffer, position);
                position += n;
                return n;
            },
            () => throw new CheckpointException(FilePath, name, "the file ends inside this tensor's data (was it truncated after opening?)"));
    }

    public CheckpointTensor Read(string name) => TensorFileSupport.ReadNew(this, name);

    public void Dispose() => _handle.Dispose();

    private static SafetensorsFile Parse(string path, SafeFileHandle handle)
    {
        var fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw new CheckpointException(path, null, $"file is {fileLength} bytes, too short for a safetensors header length (8 bytes)");
        Span<byte> lengthBytes = stackalloc byte[8];
        RandomAccess.Read(handle, lengthBytes, 0);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new CheckpointException(path, null, $"header length {headerLength} runs past the end of the {fileLength}-byte file (truncated or not a safetensors file)");
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointException(path, null, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");

        var header = new byte[headerLength];
        RandomAccess.Read(handle, header, 8);
        var dataOffset = 8 + (long)headerLength;
        var dataLength = fileLength - dataOffset;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, null, "header is not valid JSON: " + e.Message, e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, null, "header must be a JSON object of tensors");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(TensorInfo Info, long Begin, long End)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new CheckpointException(path, property.Name, "appears twice in the header");
                if (property.Name == "__metadata__")
                    ReadMetadata(path, property.Value, metadata);
                else
                    entries.Add(ReadEntry(path, property.Name, property.Value));
            }

            var file = new SafetensorsFile(path, handle, CheckLayout(path, entries, dataLength), metadata);
            foreach (var (info, begin, _) in entries) file._dataStart[info.Name] = dataOffset + begin;
            return file;
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(path, null, "__metadata__ must be an object of strings");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(path, null, $"__metadata__ value '{item.Name}' must be a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static (TensorInfo, long, long) ReadEntry(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
            throw new CheckpointException(path, name, "header entry must have a string 'dtype', an array 'shape' and a two-element array 'data_offsets'");

        var shape = new int[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i]) || shape[i] < 0)
                throw new CheckpointException(path, name, $"shape {shapeElement.GetRawText()} must hold non-negative integers");
            i++;
        }
        var offsets = new long[2];
        i = 0;
        foreach (var o in offsetsElement.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out offsets[i]) || offsets[i] < 0)
                throw new CheckpointException(path, name, $"data_offsets {offsetsElement.GetRawText()} must be non-negative integers");
            i++;
        }
        return (new TensorInfo(name, shape, dtypeElement.GetString()!), offsets[0], offsets[1]);
    }

    /// <summary>
    /// Checks that the byte ranges tile the data section exactly (as the format requires) and that each range has the
    /// size its shape and dtype imply. A truncated file shows up here as the last tensor running past the end.
    /// </summary>
    private static Dictionary<string, TensorInfo> CheckLayout(string path, List<(TensorInfo Info, long Begin, long End)> entries, long dataLength)
    {
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expectedBegin = 0;
        foreach (var (info, begin, end) in ordered)
        {
            if (end < begin)
                throw new CheckpointException(path, info.Name, $"data_offsets [{begin}, {end}] end before they begin");
            if (end > dataLength)
                throw new CheckpointException(path, info.Name,
                    $"data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes): the file is truncated");
            if (begin != expectedBegin)
                throw new CheckpointException(path, info.Name,
                    $"data_offsets [{begin}, {end}] do not continue the previous tensor at byte {expectedBegin} (gap or overlap)");
            var size = TensorDType.ElementSize(info.DType)
                ?? throw new CheckpointException(path, info.Name, $"unknown dtype {info.DType}");
            var expectedBytes = info.ElementCount * size;
            if (end - begin != expectedBytes)
                throw new CheckpointException(path, info.Name,
                    $"holds {end - begin} bytes but shape {info.ShapeText} of {info.DType} needs {expectedBytes}");
            expectedBegin = end;
        }
        if (expectedBegin != dataLength)
            throw new CheckpointException(path, null, $"the tensors cover {expectedBegin} bytes of the {dataLength}-byte data section (trailing bytes)");
        return entries.ToDictionary(e => e.Info.Name, e => e.Info, StringComparer.Ordinal);
    }
}

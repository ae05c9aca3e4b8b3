using Google.Protobuf;
using M3.Core.Onnx.Proto;

namespace M3.Core.Onnx;

/// <summary>
/// Writes large initializers into one side file (ONNX "external data"): a full-size BGE-M3 holds 2.3 GB of float32
/// weights, above protobuf's 2 GB message limit, so the weights cannot live inside model.onnx.
/// </summary>
internal sealed class ExternalDataWriter : IDisposable
{
    // Page-aligned offsets let ONNX Runtime memory-map each tensor instead of copying it.
    private const int Alignment = 4096;
    private readonly FileStream _stream;

    public ExternalDataWriter(string path)
    {
        FileName = Path.GetFileName(path);
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
    }

    public string FileName { get; }

    public void Write(TensorProto tensor, ReadOnlySpan<byte> bytes)
    {
        long offset = (_stream.Position + Alignment - 1) / Alignment * Alignment;
        if (offset > _stream.Position) _stream.Write(new byte[offset - _stream.Position]);
        _stream.Write(bytes);
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = FileName });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    public void Dispose()
    {
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
    }
}

using System.Buffers.Binary;
using System.Text.Json;

namespace M3.Core.Checkpoint;

/// <summary>
/// Writes <c>.safetensors</c> files (F32, F16, BF16 or I64 per tensor) in the layout the reference library produces:
/// header padded with spaces to 8 bytes, tensors contiguous in the given order. Used by tests and by the benchmark
/// to generate full-size checkpoints; data is streamed one tensor at a time.
/// </summary>
internal static class SafetensorsWriter
{
    /// <summary>Writes tensors whose values are in memory, all stored as <paramref name="dtype"/>.</summary>
    public static void Write(string path, IReadOnlyList<CheckpointTensor> tensors, string dtype = TensorDType.F32,
        IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, CheckpointWriting.Layout(tensors, dtype), CheckpointWriting.FillFrom(tensors), metadata);

    /// <summary>Writes the tensors of <paramref name="layout"/>, asking <paramref name="fill"/> for each one's values in turn.</summary>
    public static void Write(string path, IReadOnlyList<TensorInfo> layout, TensorFiller fill,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        CheckpointWriting.CheckLayout(layout, allowIntegers: true);
        var header = Header(layout, metadata ?? new Dictionary<string, string> { ["format"] = "pt" });
        CheckpointWriting.WriteAtomically(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var t in layout) CheckpointWriting.WriteTensor(stream, t, fill);
        });
    }

    private static byte[] Header(IReadOnlyList<TensorInfo> layout, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in layout)
            {
                var bytes = t.ElementCount * TensorDType.ElementSize(t.DType)!.Value;
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType);
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // The reference writer pads the header with spaces so the data section starts 8-byte aligned.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}

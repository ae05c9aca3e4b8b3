using System.Runtime.InteropServices;

namespace M3.Core.Checkpoint;

/// <summary>Steps the tensor file readers share.</summary>
internal static class TensorFileSupport
{
    /// <summary>Large reads go in slices so no byte span exceeds int.MaxValue and conversion buffers stay small.</summary>
    internal const int ChunkElements = 1 << 20;

    /// <param name="allowIntegers">True for safetensors, whose I64 tensors (row ids) are read through float32 when exact.</param>
    internal static TensorInfo Lookup(ITensorFile file, string name, int destinationLength, bool allowIntegers = false)
    {
        if (!file.Tensors.TryGetValue(name, out var info))
            throw new CheckpointException(file.FilePath, name, "no such tensor in the file");
        if (!TensorDType.IsSupported(info.DType) && !(allowIntegers && info.DType == TensorDType.I64))
            throw new CheckpointException(file.FilePath, name, $"unsupported dtype {info.DType} (only F32, F16 and BF16 are read{(allowIntegers ? ", and I64" : "")})");
        if (info.ElementCount != destinationLength)
            throw new ArgumentException($"tensor '{name}' has {info.ElementCount} elements but the destination holds {destinationLength}", nameof(destinationLength));
        return info;
    }

    internal static CheckpointTensor ReadNew(ITensorFile file, string name)
    {
        if (!file.Tensors.TryGetValue(name, out var info))
            throw new CheckpointException(file.FilePath, name, "no such tensor in the file");
        var data = new float[info.ElementCount];
        file.ReadInto(name, data);
        return new CheckpointTensor(name, (int[])info.Shape.Clone(), data);
    }

    /// <summary>Copies up to <c>buffer.Length</c> bytes of the tensor's data and returns how many (0 at end of data).</summary>
    internal delegate int ByteSource(Span<byte> buffer);

    /// <summary>
    /// Fills <paramref name="destination"/> from <paramref name="readSome"/>. F32 goes straight into the float array
    /// (no intermediate copy, which matters for the 1 GB embedding matrix); F16/BF16 pass through a small buffer.
    /// </summary>
    internal static void Fill(string dtype, Span<float> destination, ByteSource readSome, Action onShortRead)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("checkpoint files are little-endian; big-endian hosts are not supported");
        if (dtype == TensorDType.F32)
        {
            for (var start = 0; start < destination.Length; start += ChunkElements)
            {
                var slice = destination.Slice(start, Math.Min(ChunkElements, destination.Length - start));
                ReadExactly(MemoryMarshal.AsBytes(slice), readSome, onShortRead);
            }
            return;
        }
        var size = TensorDType.ElementSize(dtype)!.Value;
        var buffer = new byte[Math.Min(destination.Length, ChunkElements) * size];
        for (var start = 0; start < destination.Length; start += ChunkElements)
        {
            var count = Math.Min(ChunkElements, destination.Length - start);
            var bytes = buffer.AsSpan(0, count * size);
            ReadExactly(bytes, readSome, onShortRead);
            if (dtype == TensorDType.I64) TensorDType.WidenIntegers(bytes, destination.Slice(start, count));
            else TensorDType.Widen(dtype, bytes, destination.Slice(start, count));
        }
    }

    private static void ReadExactly(Span<byte> target, ByteSource readSome, Action onShortRead)
    {
        while (target.Length > 0)
        {
            var n = readSome(target);
            if (n <= 0) onShortRead();
            target = target[n..];
        }
    }
}

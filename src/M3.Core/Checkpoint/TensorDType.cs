using System.Buffers.Binary;

namespace M3.Core.Checkpoint;

/// <summary>
/// Element types a checkpoint tensor may be stored in and that this library converts to float32.
/// Names follow safetensors ("F32", "F16", "BF16"); other stored types are reported by their name and refused when read.
/// </summary>
internal static class TensorDType
{
    public const string F32 = "F32";
    public const string F16 = "F16";
    public const string BF16 = "BF16";

    /// <summary>
    /// Integer ids (e.g. the rows of a sparse embedding gradient), written and read through float32 values: exact for
    /// integers up to 2^24 in magnitude, and refused beyond that.
    /// </summary>
    public const string I64 = "I64";

    private const float MaxExactInteger = 1 << 24;

    /// <summary>True for the element types this library converts to float32.</summary>
    public static bool IsSupported(string dtype) => dtype is F32 or F16 or BF16;

    /// <summary>Bytes per element of a safetensors dtype name, or null when the name is not a known safetensors dtype.</summary>
    public static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => null,
    };

    /// <summary>Converts little-endian F16 or BF16 elements to float32; both conversions are exact.</summary>
    internal static void Widen(string dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            var bits = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(2 * i, 2));
            destination[i] = dtype == BF16
                ? BitConverter.Int32BitsToSingle(bits << 16) // bfloat16 is the top half of a float32
                : (float)BitConverter.UInt16BitsToHalf(bits);
        }
    }

    /// <summary>Rounds float32 to F16 or BF16 (round to nearest even) as little-endian bytes.</summary>
    internal static void Narrow(string dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            ushort bits = dtype == BF16 ? ToBFloat16(source[i]) : BitConverter.HalfToUInt16Bits((Half)source[i]);
            BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(2 * i, 2), bits);
        }
    }

    /// <summary>Writes float32 values to <paramref name="output"/> as little-endian <paramref name="dtype"/> (F32, F16 or BF16).</summary>
    internal static void Write(Stream output, string dtype, ReadOnlySpan<float> values)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("checkpoint files are little-endian; big-endian hosts are not supported");
        if (dtype == F32)
        {
            output.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
            return;
        }
        if (dtype == I64)
        {
            WriteIntegers(output, values);
            return;
        }
        if (dtype is not (F16 or BF16)) throw new ArgumentException($"cannot write dtype {dtype}; only F32, F16, BF16 and I64", nameof(dtype));
        var buffer = new byte[Math.Min(values.Length, 1 << 20) * 2];
        for (var start = 0; start < values.Length; start += buffer.Length / 2)
        {
            var count = Math.Min(buffer.Length / 2, values.Length - start);
            Narrow(dtype, values.Slice(start, count), buffer);
            output.Write(buffer, 0, count * 2);
        }
    }

    private static void WriteIntegers(Stream output, ReadOnlySpan<float> values)
    {
        Span<byte> bytes = stackalloc byte[8];
        foreach (var v in values)
        {
            if (v != MathF.Round(v) || MathF.Abs(v) > MaxExactInteger)
                throw new ArgumentException($"cannot store {v} as I64: only integers up to 2^24 pass exactly through float32");
            BinaryPrimitives.WriteInt64LittleEndian(bytes, (long)v);
            output.Write(bytes);
        }
    }

    /// <summary>Converts little-endian I64 elements to float32, refusing any that float32 cannot hold exactly.</summary>
    internal static void WidenIntegers(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(8 * i, 8));
            if (Math.Abs(value) > (long)MaxExactInteger) throw new InvalidDataException($"I64 value {value} is beyond 2^24 and cannot be read as float32 exactly");
            destination[i] = value;
        }
    }

    private static ushort ToBFloat16(float value)
    {
        var bits = (uint)BitConverter.SingleToInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40); // keep it a quiet NaN after truncation
        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}

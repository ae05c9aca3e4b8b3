using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using M3.Core.Representations;

namespace M3.Retrieval.Storage;

/// <summary>
/// Byte layouts of stored ColBERT rows. Int8 scales each vector by its own largest magnitude (value ≈ byte · scale / 127),
/// which keeps the relative error per vector bounded whatever the vector's norm.
/// </summary>
internal static class ColbertCodec
{
    public static int BytesPerRow(ColbertPrecision precision, int dimension) => precision switch
    {
        ColbertPrecision.Float32 => dimension * 4,
        ColbertPrecision.Float16 => dimension * 2,
        ColbertPrecision.Int8 => 4 + dimension,
        _ => 0,
    };

    public static byte[] Encode(MultiVector rows, ColbertPrecision precision)
    {
        int dim = rows.Dimension, size = BytesPerRow(precision, dim);
        var bytes = new byte[rows.Count * size];
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var target = bytes.AsSpan(r * size, size);
            switch (precision)
            {
                case ColbertPrecision.Float32:
                    MemoryMarshal.AsBytes(row).CopyTo(target);
                    break;
                case ColbertPrecision.Float16:
                    TensorPrimitives.ConvertToHalf(row, MemoryMarshal.Cast<byte, Half>(target));
                    break;
                case ColbertPrecision.Int8:
                    float max = 0;
                    foreach (var v in row) max = MathF.Max(max, MathF.Abs(v));
                    float scale = max / 127f;
                    BinaryPrimitives.WriteSingleLittleEndian(target, scale);
                    for (int i = 0; i < dim; i++) target[4 + i] = (byte)(sbyte)(scale == 0 ? 0 : Math.Clamp(MathF.Round(row[i] / scale), -127, 127));
                    break;
            }
        }
        return bytes;
    }

    public static MultiVector Decode(ReadOnlySpan<byte> bytes, ColbertPrecision precision, int dimension)
    {
        var data = new float[bytes.Length / BytesPerRow(precision, dimension) * dimension];
        DecodeInto(bytes, precision, dimension, data);
        return new MultiVector(data, dimension);
    }

    /// <summary>Decodes the rows in <paramref name="bytes"/> into the first rows · dimension floats of <paramref name="data"/>.</summary>
    public static void DecodeInto(ReadOnlySpan<byte> bytes, ColbertPrecision precision, int dimension, Span<float> data)
    {
        int size = BytesPerRow(precision, dimension), count = bytes.Length / size;
        for (int r = 0; r < count; r++)
        {
            var source = bytes.Slice(r * size, size);
            var target = data.Slice(r * dimension, dimension);
            switch (precision)
            {
                case ColbertPrecision.Float32:
                    MemoryMarshal.Cast<byte, float>(source).CopyTo(target);
                    break;
                case ColbertPrecision.Float16:
                    TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), target);
                    break;
                case ColbertPrecision.Int8:
                    TensorPrimitives.ConvertChecked<sbyte, float>(MemoryMarshal.Cast<byte, sbyte>(source[4..]), target);
                    TensorPrimitives.Multiply(target, BinaryPrimitives.ReadSingleLittleEndian(source), target);
                    break;
            }
        }
    }
}

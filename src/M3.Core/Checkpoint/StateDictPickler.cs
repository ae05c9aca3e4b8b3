using System.Buffers.Binary;
using System.Text;

namespace M3.Core.Checkpoint;

/// <summary>
/// Emits the pickle (protocol 2) <c>torch.save</c> writes for an OrderedDict of contiguous tensors, storage i holding tensor i.
/// Only the opcodes <see cref="RestrictedUnpickler"/> reads are used.
/// </summary>
internal static class StateDictPickler
{
    public static byte[] Pickle(IReadOnlyList<TensorInfo> layout)
    {
        using var m = new MemoryStream();
        m.Write([0x80, 2]); // PROTO 2
        Global(m, "collections", "OrderedDict");
        m.WriteByte((byte)')'); // EMPTY_TUPLE
        m.WriteByte((byte)'R'); // REDUCE → OrderedDict()
        m.WriteByte((byte)'('); // MARK for SETITEMS
        for (var i = 0; i < layout.Count; i++)
        {
            var t = layout[i];
            String(m, t.Name);
            Global(m, "torch._utils", "_rebuild_tensor_v2");
            m.WriteByte((byte)'(');
            m.WriteByte((byte)'('); // persistent id tuple
            String(m, "storage");
            Global(m, "torch", StorageType(t.DType));
            String(m, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            String(m, "cpu");
            Int(m, t.ElementCount);
            m.WriteByte((byte)'t');
            m.WriteByte((byte)'Q'); // BINPERSID
            Int(m, 0); // storage offset
            Tuple(m, t.Shape.Select(d => (long)d));
            Tuple(m, RowMajorStrides(t.Shape));
            m.WriteByte(0x89); // requires_grad = False
            Global(m, "collections", "OrderedDict");
            m.WriteByte((byte)')');
            m.WriteByte((byte)'R'); // backward hooks: OrderedDict()
            m.WriteByte((byte)'t');
            m.WriteByte((byte)'R'); // _rebuild_tensor_v2(...)
        }
        m.WriteByte((byte)'u'); // SETITEMS
        m.WriteByte((byte)'.'); // STOP
        return m.ToArray();
    }

    private static string StorageType(string dtype) => dtype switch
    {
        TensorDType.F32 => "FloatStorage",
        TensorDType.F16 => "HalfStorage",
        TensorDType.BF16 => "BFloat16Storage",
        _ => throw new ArgumentException($"cannot write dtype {dtype}", nameof(dtype)),
    };

    private static IEnumerable<long> RowMajorStrides(int[] shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = s;
            s *= shape[d];
        }
        return strides;
    }

    private static void Global(Stream m, string module, string name) => m.Write(System.Text.Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));

    private static void String(Stream m, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        m.WriteByte((byte)'X'); // BINUNICODE
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
        m.Write(length);
        m.Write(bytes);
    }

    private static void Int(Stream m, long value)
    {
        if (value is < int.MinValue or > int.MaxValue)
        {
            m.WriteByte(0x8a); // LONG1 with 8 bytes
            m.WriteByte(8);
            Span<byte> wide = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(wide, value);
            m.Write(wide);
            return;
        }
        m.WriteByte((byte)'J'); // BININT
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)value);
        m.Write(bytes);
    }

    private static void Tuple(Stream m, IEnumerable<long> values)
    {
        m.WriteByte((byte)'(');
        foreach (var v in values) Int(m, v);
        m.WriteByte((byte)'t');
    }
}

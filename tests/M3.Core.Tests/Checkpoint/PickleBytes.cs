using System.Buffers.Binary;
using System.IO.Compression;

namespace M3.Core.Tests.Checkpoint;

/// <summary>Builds pickle opcode streams and torch-style zips by hand, to test the reader on inputs the writer never makes.</summary>
internal sealed class PickleBytes
{
    private readonly MemoryStream _m = new();

    public PickleBytes Op(params byte[] bytes) { _m.Write(bytes); return this; }

    public PickleBytes Op(char opcode) => Op((byte)opcode);

    public PickleBytes Global(string module, string name) => Op('c').Op(System.Text.Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleBytes Str(string s)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(s);
        Op((byte)0x8c, (byte)bytes.Length); // SHORT_BINUNICODE
        return Op(bytes);
    }

    public PickleBytes Int(int v)
    {
        var b = new byte[5];
        b[0] = (byte)'J';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(1), v);
        return Op(b);
    }

    public PickleBytes IntTuple(params int[] values)
    {
        Op('(');
        foreach (var v in values) Int(v);
        return Op('t');
    }

    /// <summary><c>_rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())</c>.</summary>
    public PickleBytes Tensor(string key, int numel, int offset, int[] size, int[] stride, string storageType = "FloatStorage") =>
        Global("torch._utils", "_rebuild_tensor_v2").Op('(')
            .Op('(').Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(numel).Op('t').Op('Q')
            .Int(offset).IntTuple(size).IntTuple(stride).Op(0x89)
            .Global("collections", "OrderedDict").Op(')').Op('R')
            .Op('t').Op('R');

    public byte[] ToArray() => _m.ToArray();

    /// <summary>Writes a torch-style zip: <c>archive/data.pkl</c> plus storages <c>archive/data/&lt;key&gt;</c>.</summary>
    public static void WriteZip(string path, byte[] pickle, params (string Key, float[] Values)[] storages)
    {
        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl").Open()) s.Write(pickle);
        foreach (var (key, values) in storages)
        {
            using var s = zip.CreateEntry("archive/data/" + key).Open();
            s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        }
    }
}

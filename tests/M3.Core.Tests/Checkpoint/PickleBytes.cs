using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

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
        var bytes = Encoding.UTF8.GetBytes(s);
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

    /// <summary>
    /// Rewrites the sizes a zip declares for <paramref name="member"/> (in its local header and the central directory),
    /// leaving its bytes as they are: the zip then lies about them.
    /// </summary>
    public static void DeclareSizes(string path, string member, uint? uncompressed = null, uint? compressed = null)
    {
        var bytes = File.ReadAllBytes(path);
        var name = Encoding.UTF8.GetBytes(member);
        var patched = 0;
        for (var i = 0; i + 46 < bytes.Length; i++)
        {
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            var (sizes, nameAt) = signature switch
            {
                0x04034b50 => (18, 30), // local file header: compressed size at 18, uncompressed at 22, name at 30
                0x02014b50 => (20, 46), // central directory header: compressed size at 20, uncompressed at 24, name at 46
                _ => (-1, -1),
            };
            if (sizes < 0 || !bytes.AsSpan(i + nameAt).StartsWith(name) || BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + nameAt - (signature == 0x04034b50 ? 4 : 18))) != name.Length)
                continue;
            if (compressed is { } c) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + sizes), c);
            if (uncompressed is { } u) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + sizes + 4), u);
            patched++;
        }
        if (patched != 2) throw new InvalidOperationException($"found {patched} headers of '{member}' in {path}, expected 2");
        File.WriteAllBytes(path, bytes);
    }

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

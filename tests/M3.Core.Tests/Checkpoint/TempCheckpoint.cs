using System.Buffers.Binary;
using System.Text;
using M3.Core.Checkpoint;
using M3.Tests;

namespace M3.Core.Tests.Checkpoint;

/// <summary>A copy of the fixture checkpoint in a temp folder that a test may damage; deleted on dispose.</summary>
internal sealed class TempCheckpoint : IDisposable
{
    public TempCheckpoint(params string[] except)
    {
        Directory = TestPaths.NewTempDir("m3ckpt");
        foreach (var file in System.IO.Directory.EnumerateFiles(TestPaths.TinyM3))
            if (!except.Contains(Path.GetFileName(file)))
                File.Copy(file, PathOf(Path.GetFileName(file)));
    }

    public string Directory { get; }

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    /// <summary>Rewrites model.safetensors from the fixture's tensors after <paramref name="edit"/> changes the list.</summary>
    public void RewriteSafetensors(Func<List<CheckpointTensor>, List<CheckpointTensor>> edit, string dtype = TensorDType.F32)
    {
        List<CheckpointTensor> tensors;
        using (var source = SafetensorsFile.Open(Path.Combine(TestPaths.TinyM3, M3Checkpoint.SafetensorsFileName)))
            tensors = source.Tensors.Keys.Select(source.Read).ToList();
        SafetensorsWriter.Write(PathOf(M3Checkpoint.SafetensorsFileName), edit(tensors), dtype);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>A safetensors file from a literal JSON header and data bytes, to test the reader apart from the writer.</summary>
    public static byte[] RawSafetensors(string headerJson, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    public static byte[] UInt16s(params ushort[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), values[i]);
        return bytes;
    }
}

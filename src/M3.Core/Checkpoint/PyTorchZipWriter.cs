using System.IO.Compression;

namespace M3.Core.Checkpoint;

/// <summary>
/// Writes a state dict as a PyTorch zip checkpoint that <c>torch.load</c> reads (<c>colbert_linear.pt</c>,
/// <c>sparse_linear.pt</c>, <c>pytorch_model.bin</c>): an OrderedDict of contiguous tensors, one storage per tensor.
/// Used by tests and by the benchmark to generate checkpoints in BGE-M3's formats.
/// </summary>
internal static class PyTorchZipWriter
{
    /// <summary>Writes tensors whose values are in memory, all stored as <paramref name="dtype"/>.</summary>
    public static void Write(string path, IReadOnlyList<CheckpointTensor> tensors, string dtype = TensorDType.F32) =>
        Write(path, CheckpointWriting.Layout(tensors, dtype), CheckpointWriting.FillFrom(tensors));

    /// <summary>Writes the tensors of <paramref name="layout"/>, asking <paramref name="fill"/> for each one's values in turn.</summary>
    public static void Write(string path, IReadOnlyList<TensorInfo> layout, TensorFiller fill)
    {
        CheckpointWriting.CheckLayout(layout);
        // torch names the archive's top folder after the file; readers accept any single folder.
        var prefix = Path.GetFileNameWithoutExtension(path) is { Length: > 0 } stem ? stem : "archive";
        CheckpointWriting.WriteAtomically(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            WriteEntry(zip, $"{prefix}/data.pkl", s => s.Write(StateDictPickler.Pickle(layout)));
            WriteEntry(zip, $"{prefix}/byteorder", s => s.Write("little"u8));
            for (var i = 0; i < layout.Count; i++)
            {
                var tensor = layout[i];
                WriteEntry(zip, $"{prefix}/data/{i}", s => CheckpointWriting.WriteTensor(s, tensor, fill));
            }
            WriteEntry(zip, $"{prefix}/version", s => s.Write("3\n"u8));
        });
    }

    private static void WriteEntry(ZipArchive zip, string name, Action<Stream> write)
    {
        // Stored, not deflated, as torch does: storages are read (or memory-mapped) in place.
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var s = entry.Open();
        write(s);
    }
}

namespace M3.Core.Checkpoint;

/// <summary>Which encoder weight files <see cref="M3CheckpointWriter"/> writes.</summary>
[Flags]
internal enum M3WeightsFormat
{
    Safetensors = 1,
    PyTorch = 2,
}

/// <summary>
/// Writes a complete BGE-M3 checkpoint folder in BAAI/bge-m3's layout (config.json, model.safetensors and/or
/// pytorch_model.bin with the unused pooler included, colbert_linear.pt, sparse_linear.pt), with values from a filler.
/// For benchmarks and tests that need checkpoints of any size; tokenizer files are not written.
/// The filler sees the heads' tensors under their file keys <c>weight</c> and <c>bias</c> (ColBERT [H, H] first, then sparse [1, H]).
/// </summary>
internal static class M3CheckpointWriter
{
    public static void Write(string directory, M3Config config, TensorFiller fill,
        M3WeightsFormat formats = M3WeightsFormat.Safetensors, string dtype = TensorDType.F32) =>
        Write(directory, config, fill, fill, fill, formats, dtype);

    /// <summary>Writes with one filler per file, so each head's <c>weight</c> and <c>bias</c> are told apart by file rather than by shape.</summary>
    internal static void Write(string directory, M3Config config, TensorFiller encoderFill, TensorFiller colbertFill, TensorFiller sparseFill,
        M3WeightsFormat formats = M3WeightsFormat.Safetensors, string dtype = TensorDType.F32)
    {
        if ((formats & (M3WeightsFormat.Safetensors | M3WeightsFormat.PyTorch)) == 0)
            throw new ArgumentException("choose at least one weights format", nameof(formats));
        Directory.CreateDirectory(directory);
        config.WriteFile(Path.Combine(directory, M3Config.FileName));

        int h = config.HiddenSize;
        var encoder = M3TensorLayout.Encoder(config)
            .Append(new TensorSpec("pooler.dense.weight", [h, h]))
            .Append(new TensorSpec("pooler.dense.bias", [h]))
            .Select(s => new TensorInfo(s.Name, s.Shape, dtype))
            .ToList();
        if (formats.HasFlag(M3WeightsFormat.Safetensors))
            SafetensorsWriter.Write(Path.Combine(directory, M3Checkpoint.SafetensorsFileName), encoder, encoderFill);
        if (formats.HasFlag(M3WeightsFormat.PyTorch))
            PyTorchZipWriter.Write(Path.Combine(directory, M3Checkpoint.PyTorchFileName), encoder, encoderFill);

        // Heads stay float32, as BAAI/bge-m3 ships them.
        PyTorchZipWriter.Write(Path.Combine(directory, M3Checkpoint.ColbertFileName), Head(h), colbertFill);
        PyTorchZipWriter.Write(Path.Combine(directory, M3Checkpoint.SparseFileName), Head(1), sparseFill);

        List<TensorInfo> Head(int outFeatures) =>
            [new("weight", [outFeatures, h], TensorDType.F32), new("bias", [outFeatures], TensorDType.F32)];
    }
}

namespace M3.Core.Checkpoint;

/// <summary>Steps the checkpoint writers share.</summary>
internal static class CheckpointWriting
{
    /// <summary>Writes to a temp file beside <paramref name="path"/> and renames it into place, so a failure never leaves a half-written checkpoint.</summary>
    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var temp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
                write(stream);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Checks a layout before anything is written: supported dtypes, unique names, non-negative shapes.</summary>
    /// <param name="allowIntegers">True for formats that store <see cref="TensorDType.I64"/> (safetensors).</param>
    internal static void CheckLayout(IReadOnlyList<TensorInfo> layout, bool allowIntegers = false)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in layout)
        {
            if (!names.Add(t.Name)) throw new ArgumentException($"tensor '{t.Name}' appears twice", nameof(layout));
            if (!TensorDType.IsSupported(t.DType) && !(allowIntegers && t.DType == TensorDType.I64)) throw new ArgumentException($"tensor '{t.Name}': cannot write dtype {t.DType}; only F32, F16 and BF16", nameof(layout));
            if (t.Shape.Any(d => d < 0)) throw new ArgumentException($"tensor '{t.Name}': negative dimension in {t.ShapeText}", nameof(layout));
        }
    }

    internal static IReadOnlyList<TensorInfo> Layout(IReadOnlyList<CheckpointTensor> tensors, string dtype)
    {
        foreach (var t in tensors)
            if (t.Data.Length != CheckpointTensor.CountElements(t.Shape))
                throw new ArgumentException($"tensor '{t.Name}' has {t.Data.Length} values for shape {CheckpointTensor.FormatShape(t.Shape)}", nameof(tensors));
        return tensors.Select(t => new TensorInfo(t.Name, t.Shape, dtype)).ToList();
    }

    internal static TensorFiller FillFrom(IReadOnlyList<CheckpointTensor> tensors)
    {
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        return (info, destination) => byName[info.Name].Data.CopyTo(destination);
    }

    /// <summary>Asks <paramref name="fill"/> for one tensor's values and writes them in the tensor's dtype.</summary>
    internal static void WriteTensor(Stream output, TensorInfo tensor, TensorFiller fill)
    {
        var values = new float[tensor.ElementCount];
        fill(tensor, values);
        TensorDType.Write(output, tensor.DType, values);
    }
}

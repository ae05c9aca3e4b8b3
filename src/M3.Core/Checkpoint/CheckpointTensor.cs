namespace M3.Core.Checkpoint;

/// <summary>A tensor as stored in a checkpoint file, before its data is read.</summary>
/// <param name="Name">The key in the file's state dict.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="DType">Stored element type by safetensors name ("F32", "F16", "BF16", or an unsupported one such as "I64").</param>
public sealed record TensorInfo(string Name, int[] Shape, string DType)
{
    public long ElementCount => CheckpointTensor.CountElements(Shape);

    public string ShapeText => CheckpointTensor.FormatShape(Shape);
}

/// <summary>A tensor's values converted to float32, row-major.</summary>
public sealed record CheckpointTensor(string Name, int[] Shape, float[] Data)
{
    public static long CountElements(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    public static string FormatShape(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";
}

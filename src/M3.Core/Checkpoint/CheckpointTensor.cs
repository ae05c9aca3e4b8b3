namespace M3.Core.Checkpoint;

/// <summary>A tensor's values converted to float32, row-major.</summary>
internal sealed record CheckpointTensor(string Name, int[] Shape, float[] Data)
{
    public static long CountElements(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    public static string FormatShape(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";
}

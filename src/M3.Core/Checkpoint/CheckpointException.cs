namespace M3.Core.Checkpoint;

/// <summary>
/// A checkpoint file is missing, malformed or does not match what BGE-M3 needs.
/// The message always names the file and, where one is involved, the tensor.
/// </summary>
public sealed class CheckpointException : M3Exception
{
    public CheckpointException(string filePath, string? tensorName, string problem, Exception? inner = null)
        : base(Compose(filePath, tensorName, problem), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The file the problem was found in.</summary>
    public string FilePath { get; }

    /// <summary>The tensor involved, or null when the problem concerns the whole file.</summary>
    public string? TensorName { get; }

    private static string Compose(string filePath, string? tensorName, string problem) =>
        tensorName == null ? $"{filePath}: {problem}" : $"{filePath}: tensor '{tensorName}': {problem}";
}

namespace M3.Core.Checkpoint;

/// <summary>
/// A checkpoint file is missing, malformed or does not match what BGE-M3 needs.
/// The message always names the file and, where one is involved, the tensor.
/// </summary>
public sealed class CheckpointException : M3Exception
{
    /// <summary>A problem with <paramref name="filePath"/> (and <paramref name="tensorName"/>, when one is involved).</summary>
    /// <param name="filePath">The file, as the message names it.</param>
    /// <param name="tensorName">The tensor concerned, or null.</param>
    /// <param name="problem">What is wrong and what to do.</param>
    /// <param name="inner">The error that revealed it, if any.</param>
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

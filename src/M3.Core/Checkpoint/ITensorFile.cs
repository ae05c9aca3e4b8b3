namespace M3.Core.Checkpoint;

/// <summary>
/// An open weights file whose tensors are listed up front and read one at a time on request,
/// so a caller can stream a large checkpoint without holding all of it in memory.
/// </summary>
internal interface ITensorFile : IDisposable
{
    /// <summary>The file's path, as used in error messages.</summary>
    string FilePath { get; }

    /// <summary>Every tensor in the file by name, in file order.</summary>
    IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>Reads one tensor into <paramref name="destination"/> (exactly its element count long), converting to float32.</summary>
    void ReadInto(string name, Span<float> destination);

    /// <summary>Reads one tensor into a new array, converting to float32.</summary>
    CheckpointTensor Read(string name);
}

namespace M3.Core.Checkpoint;

/// <summary>A tensor as stored in a checkpoint file, before its data is read.</summary>
/// <param name="Name">The key in the file's state dict.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="DType">Stored element type by safetensors name ("F32", "F16", "BF16", or an unsupported one such as "I64").</param>
internal sealed record TensorInfo(string Name, int[] Shape, string DType)
{
    public long ElementCount => CheckpointTensor.CountElements(Shape);

    public string ShapeText => CheckpointTensor.FormatShape(Shape);
}

namespace M3.Core.Inference;

/// <summary>
/// The encoder cannot load or run a model: the model folder is missing, ONNX Runtime rejects the built graph, or a forward
/// pass fails (for example out of memory). The message says what to do.
/// </summary>
public sealed class EncoderException : M3Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> names the folder or batch and what to do.</summary>
    public EncoderException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }
}

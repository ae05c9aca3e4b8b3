namespace M3.Retrieval;

/// <summary>
/// An index folder or retrieval input is unusable: no index where one is expected, a damaged or newer index database, an
/// index built with a model of another size, documents with missing or repeated ids, malformed evaluation files.
/// The message names the file or document and what to do.
/// </summary>
public sealed class IndexException : M3Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> names the file or document and what to do.</summary>
    public IndexException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }
}

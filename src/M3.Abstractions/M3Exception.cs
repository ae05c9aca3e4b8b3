namespace M3;

/// <summary>
/// Base of every failure M3Sharp reports about its input or its environment: a missing or malformed file, a hub that cannot
/// be reached, an index that does not fit the model. The message says what is wrong, where, and what to do, so it can be
/// shown to a user as it is. Exceptions of other types mean a bug or a misuse of the API.
/// </summary>
/// <remarks>Each layer throws its own subclass: tokenizer, checkpoint, encoder, hub and index errors.</remarks>
public abstract class M3Exception : Exception
{
    /// <summary>Creates the exception with a message that names the problem, where it is and what to do.</summary>
    protected M3Exception(string message, Exception? innerException = null) : base(message, innerException)
    {
    }
}

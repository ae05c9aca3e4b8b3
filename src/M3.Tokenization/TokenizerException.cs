namespace M3.Tokenization;

/// <summary>Tokenizer files are missing, malformed or of a kind this tokenizer does not implement; the message names the file.</summary>
public sealed class TokenizerException : M3Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> names the file and what to do.</summary>
    public TokenizerException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }
}

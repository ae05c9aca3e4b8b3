namespace M3.Cli.Infrastructure;

/// <summary>A user-facing failure: its message is printed as is (no stack trace) and the process exits non-zero.</summary>
internal sealed class CliError(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

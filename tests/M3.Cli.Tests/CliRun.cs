using System.CommandLine;

namespace M3.Cli.Tests;

/// <summary>
/// Runs a command in-process with stdout and stderr captured. Console streams are process-wide, so tests using this
/// belong to the "Console" collection (run one at a time).
/// </summary>
internal static class CliRun
{
    public static (int ExitCode, string Stdout, string Stderr) Invoke(Command command, params string[] args) =>
        Invoke(command, CancellationToken.None, args);

    /// <summary>Runs the command as <c>m3</c> does, with <paramref name="cancellationToken"/> standing in for Ctrl+C.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Invoke(Command command, CancellationToken cancellationToken, params string[] args)
    {
        var (previousOut, previousErr) = (Console.Out, Console.Error);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var code = command.Parse(args).InvokeAsync(cancellationToken: cancellationToken).GetAwaiter().GetResult();
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousErr);
        }
    }
}

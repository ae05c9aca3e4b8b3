using System.CommandLine;

namespace M3.Cli.Tests;

/// <summary>
/// Runs a command in-process with stdout and stderr captured. Console streams are process-wide, so tests using this
/// belong to the "Console" collection (run one at a time).
/// </summary>
internal static class CliRun
{
    public static (int ExitCode, string Stdout, string Stderr) Invoke(Command command, params string[] args)
    {
        var (previousOut, previousErr) = (Console.Out, Console.Error);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            return (command.Parse(args).Invoke(), stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousErr);
        }
    }
}

namespace M3.Cli.Infrastructure;

/// <summary>
/// Runs a command body and turns expected failures into one clear line on stderr and a non-zero exit code: M3Sharp's own
/// exceptions (bad files, bad input, unreachable hub), the command line's <see cref="CliError"/>, and failures of the
/// machine (I/O, permissions). Anything else is a bug and keeps its stack trace. M3_DEBUG=1 adds the stack trace to all.
/// Ctrl+C cancels the command's token: the command stops, says so and exits with 130 as shells expect.
/// </summary>
internal static class CommandRunner
{
    /// <summary>Exit code of a command stopped by Ctrl+C (128 + SIGINT), as shells report it.</summary>
    public const int CancelledExitCode = 130;

    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("cancelled");
            return CancelledExitCode;
        }
        catch (Exception e) when (IsExpected(e))
        {
            return Report(e);
        }
    }

    /// <summary>
    /// Runs a synchronous body on a worker thread, so that Ctrl+C is answered while it computes. The answer does not wait
    /// for the body: one blocked where no token reaches (reading stdin) would otherwise hold the process until the
    /// command line's termination timeout.
    /// </summary>
    public static Task<int> RunAsync(Func<CancellationToken, int> body, CancellationToken cancellationToken) =>
        RunAsync(ct => Task.Run(() => body(ct), ct).WaitAsync(ct), cancellationToken);

    private static bool IsExpected(Exception e) =>
        e is CliError or M3Exception or IOException or UnauthorizedAccessException;

    private static int Report(Exception e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        if (Environment.GetEnvironmentVariable("M3_DEBUG") == "1") Console.Error.WriteLine(e);
        return e is CliError c ? c.ExitCode : 1;
    }
}

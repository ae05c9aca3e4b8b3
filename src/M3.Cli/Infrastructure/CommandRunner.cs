namespace M3.Cli.Infrastructure;

/// <summary>
/// Runs a command body and turns failures into one clear line on stderr and a non-zero exit code.
/// Expected failures (bad files, bad input) print their message only; M3_DEBUG=1 adds the stack trace.
/// </summary>
public static class CommandRunner
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsExpected(e))
        {
            return Report(e);
        }
    }

    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e) when (IsExpected(e))
        {
            return Report(e);
        }
    }

    private static bool IsExpected(Exception e) =>
        e is CliError or IOException or InvalidDataException or FormatException or ArgumentException or UnauthorizedAccessException
            or System.Text.Json.JsonException or NotSupportedException or InvalidOperationException
            or M3.Core.Checkpoint.CheckpointException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException;

    private static int Report(Exception e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        if (Environment.GetEnvironmentVariable("M3_DEBUG") == "1") Console.Error.WriteLine(e);
        return e is CliError c ? c.ExitCode : 1;
    }
}

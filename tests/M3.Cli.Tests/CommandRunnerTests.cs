using M3.Cli.Infrastructure;
using M3.Retrieval;

namespace M3.Cli.Tests;

/// <summary>Which failures become a one-line message and which keep their stack trace.</summary>
[Collection("Console")]
public sealed class CommandRunnerTests
{
    [Fact]
    public async Task M3_exceptions_become_a_message_and_exit_code_1()
    {
        var (previous, stderr) = (Console.Error, new StringWriter());
        Console.SetError(stderr);
        try
        {
            var code = await CommandRunner.RunAsync((Func<CancellationToken, int>)(_ => throw new IndexException("'ix' is not an index; create one with 'm3 index add'")), CancellationToken.None);
            Assert.Equal(1, code);
            Assert.Equal("error: 'ix' is not an index; create one with 'm3 index add'", stderr.ToString().Trim());
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    [Fact]
    public async Task Cli_errors_keep_their_exit_code()
    {
        var (previous, stderr) = (Console.Error, new StringWriter());
        Console.SetError(stderr);
        try
        {
            Assert.Equal(2, await CommandRunner.RunAsync((Func<CancellationToken, int>)(_ => throw new CliError("bad", 2)), CancellationToken.None));
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    [Fact]
    public async Task Bugs_are_not_turned_into_messages()
    {
        // An InvalidOperationException or ArgumentException from inside is a bug: it must reach the top with its stack trace.
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            CommandRunner.RunAsync((Func<CancellationToken, int>)(_ => throw new InvalidOperationException("bug")), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            CommandRunner.RunAsync((Func<CancellationToken, int>)(_ => throw new ArgumentException("bug")), CancellationToken.None));
    }

    [Fact]
    public async Task Cancellation_of_the_command_token_exits_130()
    {
        var (previous, stderr) = (Console.Error, new StringWriter());
        Console.SetError(stderr);
        try
        {
            using var cts = new CancellationTokenSource();
            var code = await CommandRunner.RunAsync((Func<CancellationToken, int>)(ct =>
            {
                cts.Cancel();
                ct.ThrowIfCancellationRequested();
                return 0;
            }), cts.Token);
            Assert.Equal(CommandRunner.CancelledExitCode, code);
            Assert.Contains("cancelled", stderr.ToString());
        }
        finally
        {
            Console.SetError(previous);
        }
    }
}

using M3.Cli.Commands;
using M3.Tests;

namespace M3.Cli.Tests;

/// <summary><c>m3 serve</c> refuses options it cannot run with before it listens: exit code 2 and a message naming the option.</summary>
[Collection("Console")]
public sealed class ServeCommandTests
{
    [Theory]
    [InlineData("--max-batch-size", "0", "--max-batch-size is 0")]
    [InlineData("--max-tokens", "100000", "above the model's maximum of")]
    [InlineData("--max-request-tokens", "-5", "--max-request-tokens -5 is below --max-tokens")]
    [InlineData("--queue", "0", "--queue is 0")]
    [InlineData("--index", "/nonexistent/m3-index", "index folder '/nonexistent/m3-index' does not exist")]
    public void Bad_options_stop_the_start_with_a_clear_message(string option, string value, string expected)
    {
        var (code, _, stderr) = CliRun.Invoke(ServeCommand.Create(), "--model", TestPaths.TinyM3, "--urls", "http://127.0.0.1:0", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("listening", stderr);
    }

    [Fact]
    public void A_model_that_fails_to_load_ends_the_server_with_exit_code_1_and_the_reason()
    {
        var broken = TestPaths.NewTempDir("m3serve-broken");
        try
        {
            File.Copy(Path.Combine(TestPaths.TinyM3, "config.json"), Path.Combine(broken, "config.json"));
            var (code, _, stderr) = CliRun.Invoke(ServeCommand.Create(), "--model", broken, "--urls", "http://127.0.0.1:0", "--log-level", "None");
            Assert.Equal(1, code);
            Assert.Contains("listening", stderr);
            Assert.Contains("the model failed to load", stderr);
        }
        finally
        {
            Directory.Delete(broken, true);
        }
    }
}

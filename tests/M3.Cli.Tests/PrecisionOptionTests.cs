using System.CommandLine;
using M3.Cli.Commands;
using M3.Cli.Infrastructure;
using M3.Core.Inference;

namespace M3.Cli.Tests;

public sealed class PrecisionOptionTests
{
    [Theory]
    [InlineData(new string[0], M3Precision.Fp32)]
    [InlineData(new[] { "--precision", "fp32" }, M3Precision.Fp32)]
    [InlineData(new[] { "--precision", "int8" }, M3Precision.Int8)]
    public void Precision_defaults_to_fp32_and_reads_int8(string[] args, M3Precision expected)
    {
        var precision = new PrecisionOption();
        var result = new RootCommand { precision.Option }.Parse(args);
        Assert.Empty(result.Errors);
        Assert.Equal(expected, precision.GetValue(result));
    }

    [Fact]
    public void An_unknown_precision_is_a_parse_error_naming_the_choices()
    {
        var precision = new PrecisionOption();
        var result = new RootCommand { precision.Option }.Parse(["--precision", "fp16"]);
        var error = Assert.Single(result.Errors);
        Assert.Contains("fp16", error.Message);
        Assert.Contains("int8", error.Message);
    }

    [Theory]
    [InlineData("encode")]
    [InlineData("score")]
    public void Commands_that_encode_take_precision(string name)
    {
        var command = name == "encode" ? EncodeCommand.Create() : ScoreCommand.Create();
        Assert.Contains(command.Options, o => o.Name == "--precision");
    }
}

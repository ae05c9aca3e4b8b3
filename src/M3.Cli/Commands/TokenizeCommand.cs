using System.CommandLine;

namespace M3.Cli.Commands;

public static class TokenizeCommand
{
    public static Command Create() => new("tokenize", "Tokenize texts into XLM-RoBERTa token ids (not yet implemented)");
}

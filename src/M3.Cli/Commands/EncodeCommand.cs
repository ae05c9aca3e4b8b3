using System.CommandLine;

namespace M3.Cli.Commands;

public static class EncodeCommand
{
    public static Command Create() => new("encode", "Encode texts into dense, sparse and ColBERT representations (not yet implemented)");
}

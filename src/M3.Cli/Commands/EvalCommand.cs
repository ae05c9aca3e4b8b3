using System.CommandLine;

namespace M3.Cli.Commands;

public static class EvalCommand
{
    public static Command Create() => new("eval", "Evaluate retrieval on BEIR-format data (not yet implemented)");
}

using System.CommandLine;

namespace M3.Cli.Commands;

public static class ScoreCommand
{
    public static Command Create() => new("score", "Score query/passage pairs (not yet implemented)");
}

using System.CommandLine;

namespace M3.Cli.Commands;

public static class IndexCommand
{
    public static Command Create() => new("index", "Manage a retrieval index (not yet implemented)");
}

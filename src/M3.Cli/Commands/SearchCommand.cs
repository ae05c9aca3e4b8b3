using System.CommandLine;

namespace M3.Cli.Commands;

public static class SearchCommand
{
    public static Command Create() => new("search", "Search a retrieval index (not yet implemented)");
}

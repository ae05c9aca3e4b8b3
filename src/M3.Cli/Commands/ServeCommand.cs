using System.CommandLine;

namespace M3.Cli.Commands;

public static class ServeCommand
{
    public static Command Create() => new("serve", "Run the HTTP server (not yet implemented)");
}

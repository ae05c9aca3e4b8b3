using System.CommandLine;
using M3.Cli.Commands;

var root = new RootCommand("m3: BGE-M3 embeddings (dense, sparse, ColBERT), hybrid retrieval and serving, in .NET");
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(EncodeCommand.Create());
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(IndexCommand.Create());
root.Subcommands.Add(SearchCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
// Ctrl+C and SIGTERM cancel the command's token: encoding stops within a forward pass, downloads at once, and the server
// drains its in-flight requests, for which ASP.NET Core allows 30 s by default; so the process waits that long at most.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
return await root.Parse(args).InvokeAsync(invocation);

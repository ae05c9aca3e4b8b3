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
return root.Parse(args).Invoke();

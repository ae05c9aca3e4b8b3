// Benchmarks: each subcommand measures one thing and prints a table plus a JSON line.
Console.Error.WriteLine("usage: M3.Bench <tokenizer|encoder|index> [options]");
return 2;

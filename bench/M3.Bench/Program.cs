using M3.Bench;

// Each benchmark prints a table and ends with one JSON line; the default is the encoder benchmark (ours against the plain ONNX export and PyTorch).
return args.FirstOrDefault() switch
{
    "tokenizer" => TokenizerBench.Run(args[1..]),
    "index" => IndexBench.Run(args[1..]),
    "server" => ServerBench.Run(args[1..]),
    "long" => LongTextBench.Run(args[1..]),
    "train" => M3.Bench.Training.TrainBench.Run(args[1..]),
    "random-model" => M3.Bench.Training.RandomModelCommand.Run(args[1..]),
    M3.Bench.Training.TrainWorker.Command => M3.Bench.Training.TrainWorker.Run(args[1..]),
    _ => EncoderBench.Run(args),
};

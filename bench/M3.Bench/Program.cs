using M3.Bench;

// Each benchmark prints a table and ends with one JSON line; the default is the encoder benchmark (ours against the plain ONNX export and PyTorch).
return args.FirstOrDefault() switch
{
    "tokenizer" => TokenizerBench.Run(args[1..]),
    "index" => IndexBench.Run(args[1..]),
    "server" => ServerBench.Run(args[1..]),
    "long" => LongTextBench.Run(args[1..]),
    _ => EncoderBench.Run(args),
};

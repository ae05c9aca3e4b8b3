using M3.Bench.Encoder;
using M3.Core.Checkpoint;

namespace M3.Bench.Training;

/// <summary>
/// Writes a small random-initialized BGE-M3-layout model with the fixture's tokenizer (its 16,002-token vocabulary), for
/// fine-tuning from scratch in the demo (examples/fine-tune-demo.sh).
/// usage: random-model OUT [--hidden 256] [--layers 4] [--heads 4] [--intermediate 1024] [--positions 514] [--seed 1]
/// </summary>
public static class RandomModelCommand
{
    public static int Run(string[] args)
    {
        var output = Path.GetFullPath(args[0]);
        var hidden = Args.Int(args, "--hidden", 256);
        var config = RandomCheckpoint.FullSize with
        {
            HiddenSize = hidden,
            NumHiddenLayers = Args.Int(args, "--layers", 4),
            NumAttentionHeads = Args.Int(args, "--heads", 4),
            IntermediateSize = Args.Int(args, "--intermediate", 4 * hidden),
            MaxPositionEmbeddings = Args.Int(args, "--positions", 514),
            VocabSize = 16002,
        };
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new IOException($"'{output}' is not empty");
        Directory.CreateDirectory(output);
        RandomCheckpoint.Generate(output, Path.Combine(Args.RepoRoot(), "tests", "fixtures", "tiny-m3"), config, Args.Int(args, "--seed", 1));
        Console.WriteLine($"wrote {output}: hidden {config.HiddenSize}, {config.NumHiddenLayers} layers, vocabulary {config.VocabSize}");
        return 0;
    }
}

using M3.Bench.Encoder;
using M3.Core.Checkpoint;

namespace M3.Bench.Training;

/// <summary>
/// Writes a small random-initialized BGE-M3-layout model with the fixture's tokenizer (its 16,002-token vocabulary), for
/// fine-tuning from scratch in the demo (examples/fine-tune-demo.sh).
/// usage: random-model OUT [--hidden 256] [--layers 4] [--heads 4] [--intermediate 1024] [--positions 514] [--seed 1]
///        [--sparse-bias 0.1414] [--temperature 0.02]
/// </summary>
/// <remarks>
/// The sparse head starts as a uniform lexical matcher: weight 0 and bias c = sqrt(temperature), so relu(w·h + b) = c
/// for every token whatever the random encoder outputs. Each distinct token a query shares with a passage then adds
/// c²/τ = 1 to their logit, the scale on which the contrastive loss moves; the gradient reaches every token's weight, and
/// training learns which tokens matter. With BERT's normal(0, 0.02) instead, w·h has a spread of about 0.3 at hidden 256,
/// about half the tokens start at relu's zero, and the encoder's fast early changes (shared with dense and ColBERT) swing
/// the sparse scores by tens of logits: the head overshoots and dies (every weight 0, no gradient through relu).
/// <c>--sparse-bias</c> overrides c (a negative value keeps the old normal(0, 0.02) head).
/// </remarks>
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
        var sparseBias = Args.Double(args, "--sparse-bias", Math.Sqrt(Args.Double(args, "--temperature", 0.02)));
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new IOException($"'{output}' is not empty");
        Directory.CreateDirectory(output);
        TensorFiller? sparse = sparseBias < 0 ? null : (tensor, destination) => destination.Fill(tensor.Name == "bias" ? (float)sparseBias : 0f);
        RandomCheckpoint.Generate(output, Path.Combine(Args.RepoRoot(), "tests", "fixtures", "tiny-m3"), config, Args.Int(args, "--seed", 1), sparse);
        Console.WriteLine($"wrote {output}: hidden {config.HiddenSize}, {config.NumHiddenLayers} layers, vocabulary {config.VocabSize}, " +
                          (sparse == null ? "sparse head normal(0, 0.02)" : $"sparse head weight 0, bias {sparseBias:G4}"));
        return 0;
    }
}

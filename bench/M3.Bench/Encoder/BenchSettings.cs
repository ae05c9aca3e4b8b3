namespace M3.Bench.Encoder;

/// <summary>Command-line settings of the encoder benchmark.</summary>
public sealed record BenchSettings
{
    public bool Quick { get; init; }

    /// <summary>Intra-op threads for every engine and peer alike.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public int Seed { get; init; } = 1234;

    public string CacheRoot { get; init; } = RandomCheckpoint.DefaultCacheRoot;

    /// <summary>Where the full JSON report goes; null = bench/results/encoder-DATE.json.</summary>
    public string? JsonPath { get; init; }

    public bool SkipPeers { get; init; }

    public int ShortTexts => Quick ? 400 : 2000;

    /// <summary>Timed passes per engine and workload (ours and the export; the PyTorch script times one), best kept.</summary>
    public int Repeats { get; init; }

    public int EffectiveRepeats => Repeats > 0 ? Repeats : Quick ? 1 : 2;

    public const string Usage =
        "usage: M3.Bench [--quick] [--threads N] [--seed N] [--cache DIR] [--json PATH] [--skip-peers] [--repeats N]";

    public static BenchSettings Parse(IReadOnlyList<string> args)
    {
        var s = new BenchSettings();
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value\n{Usage}");
            s = args[i] switch
            {
                "--quick" => s with { Quick = true },
                "--threads" => s with { Threads = PositiveInt(Value(), "--threads") },
                "--seed" => s with { Seed = int.Parse(Value()) },
                "--cache" => s with { CacheRoot = Path.GetFullPath(Value()) },
                "--json" => s with { JsonPath = Path.GetFullPath(Value()) },
                "--skip-peers" => s with { SkipPeers = true },
                "--repeats" => s with { Repeats = PositiveInt(Value(), "--repeats") },
                _ => throw new ArgumentException($"unknown option '{args[i]}'\n{Usage}"),
            };
        }
        return s;
    }

    private static int PositiveInt(string text, string option) =>
        int.TryParse(text, out var n) && n > 0 ? n : throw new ArgumentException($"{option} expects a positive integer, got '{text}'");
}

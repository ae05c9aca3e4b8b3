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

    /// <summary>Short texts: --quick takes a subset small enough for three rounds in under five minutes.</summary>
    public int ShortTexts => Quick ? 120 : 2000;

    /// <summary>Rounds of one timed pass per engine and workload; ratios are computed per round, reported as median and range.</summary>
    public int Rounds { get; init; }

    public int EffectiveRounds => Rounds > 0 ? Rounds : 3;

    public const string Usage =
        "usage: M3.Bench [--quick] [--threads N] [--seed N] [--cache DIR] [--json PATH] [--skip-peers] [--rounds N]";

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
                "--rounds" => s with { Rounds = PositiveInt(Value(), "--rounds") },
                _ => throw new ArgumentException($"unknown option '{args[i]}'\n{Usage}"),
            };
        }
        return s;
    }

    private static int PositiveInt(string text, string option) =>
        int.TryParse(text, out var n) && n > 0 ? n : throw new ArgumentException($"{option} expects a positive integer, got '{text}'");
}

using System.Text.Json;
using M3.Tests;

namespace M3.Core.Tests.Inference;

/// <summary>golden.json of a checkpoint folder: float64 reference outputs computed by an independent PyTorch implementation.</summary>
public sealed class Golden
{
    public sealed record Item(string Text, int[] InputIds, double[] Dense, Dictionary<int, double> Sparse, double[][] Colbert, int[]? MclsIds, double[]? MclsDense);
    public sealed record Pair(int Query, int Passage, Dictionary<string, double> Scores);

    public required IReadOnlyList<Item> Items { get; init; }
    public required IReadOnlyList<Pair> Pairs { get; init; }
    public required double[] HybridWeights { get; init; }

    public static Golden Load(string directory)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "golden.json")));
        var root = doc.RootElement;
        var items = root.GetProperty("items").EnumerateArray().Select(e =>
        {
            e.TryGetProperty("mcls", out var mcls);
            return new Item(
                e.GetProperty("text").GetString()!,
                e.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                Doubles(e.GetProperty("dense")),
                e.GetProperty("sparse").EnumerateObject().ToDictionary(p => int.Parse(p.Name), p => p.Value.GetDouble()),
                e.GetProperty("colbert").EnumerateArray().Select(Doubles).ToArray(),
                mcls.ValueKind == JsonValueKind.Object ? mcls.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray() : null,
                mcls.ValueKind == JsonValueKind.Object ? Doubles(mcls.GetProperty("dense")) : null);
        }).ToList();
        var pairs = root.GetProperty("pairs").EnumerateArray().Select(e => new Pair(
            e.GetProperty("query").GetInt32(), e.GetProperty("passage").GetInt32(),
            e.EnumerateObject().Where(p => p.Name is not ("query" or "passage")).ToDictionary(p => p.Name, p => p.Value.GetDouble()))).ToList();
        return new Golden { Items = items, Pairs = pairs, HybridWeights = Doubles(root.GetProperty("hybrid_weights")) };
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();
}

using System.IO.Hashing;
using System.Text.Json;

namespace M3.Core.Onnx;

/// <summary>
/// The size and XxHash128 of every file of a cached graph, recorded when it is built and checked before it is used:
/// a truncated data file otherwise fails deep inside ONNX Runtime, and flipped bytes silently change every embedding.
/// XxHash128 rather than SHA-256 because this guards against damage, not forgery, and reads the 2.3 GB data file of a
/// full-size graph on every start: it runs at the speed the disk or page cache delivers.
/// </summary>
internal static class GraphSeal
{
    public const string FileName = "seal.json";

    private sealed record Seal(long Size, string XxHash128);

    /// <summary>Records every file in <paramref name="folder"/>.</summary>
    public static void Write(string folder)
    {
        var seals = Directory.GetFiles(folder).Order(StringComparer.Ordinal)
            .ToDictionary(Path.GetFileName, f => new Seal(new FileInfo(f).Length, Hash(f)));
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(seals));
    }

    /// <summary>Null when every recorded file is there with its size and hash; else what is wrong, for the log.</summary>
    public static string? FindDamage(string folder)
    {
        Dictionary<string, Seal>? seals;
        try
        {
            seals = JsonSerializer.Deserialize<Dictionary<string, Seal>>(File.ReadAllText(Path.Combine(folder, FileName)));
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return $"{FileName} is missing or unreadable ({e.Message})";
        }
        if (seals is not { Count: > 0 }) return $"{FileName} records no files";
        foreach (var (name, seal) in seals)
        {
            var path = Path.Combine(folder, Path.GetFileName(name));
            if (!File.Exists(path)) return $"{name} is missing";
            var size = new FileInfo(path).Length;
            if (size != seal.Size) return $"{name} is {size} bytes, {seal.Size} when built";
            if (Hash(path) != seal.XxHash128) return $"{name} does not hold the bytes it was built with";
        }
        return null;
    }

    private static string Hash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        var hash = new XxHash128();
        hash.Append(stream);
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }
}

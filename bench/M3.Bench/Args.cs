namespace M3.Bench;

/// <summary>The few command-line conventions the benchmarks share.</summary>
internal static class Args
{
    public static int Int(string[] args, string name, int fallback) => String(args, name) is { } v ? int.Parse(v) : fallback;

    public static double Double(string[] args, string name, double fallback) =>
        String(args, name) is { } v ? double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public static string? String(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "M3Sharp.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root (M3Sharp.slnx) not found");
    }
}

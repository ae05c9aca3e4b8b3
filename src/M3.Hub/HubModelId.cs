using System.Text.RegularExpressions;

namespace M3.Hub;

/// <summary>A model on the Hugging Face hub: <c>owner/name[@revision]</c>, revision defaulting to <c>main</c>.</summary>
public sealed partial record HubModelId(string Owner, string Name, string Revision)
{
    public const string DefaultRevision = "main";

    /// <summary>The repository id as the hub's URLs spell it: <c>owner/name</c>.</summary>
    public string RepoId => $"{Owner}/{Name}";

    /// <summary>True when <see cref="Revision"/> is a full commit hash, which never moves (no ref lookup needed).</summary>
    public bool IsCommitHash => CommitHashRegex().IsMatch(Revision);

    public static HubModelId Parse(string text)
    {
        if (TryParse(text, out var id)) return id;
        throw new FormatException(
            $"'{text}' is not a hub model id: expected owner/name or owner/name@revision " +
            "(letters, digits, '-', '_', '.'; e.g. BAAI/bge-m3 or BAAI/bge-m3@main)");
    }

    public static bool TryParse(string? text, out HubModelId id)
    {
        id = null!;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var m = IdRegex().Match(text);
        if (!m.Success) return false;
        var owner = m.Groups["owner"].Value;
        var name = m.Groups["name"].Value;
        // The hub rejects these names too; rejecting here keeps ".." out of cache paths.
        if (owner.Contains("..") || name.Contains("..") || name.EndsWith(".git", StringComparison.Ordinal)) return false;
        var revision = m.Groups["rev"].Success ? m.Groups["rev"].Value : DefaultRevision;
        if (revision.Contains("..")) return false;
        id = new HubModelId(owner, name, revision);
        return true;
    }

    public override string ToString() => $"{RepoId}@{Revision}";

    [GeneratedRegex(@"^(?<owner>[A-Za-z0-9][A-Za-z0-9._-]{0,95})/(?<name>[A-Za-z0-9][A-Za-z0-9._-]{0,95})(@(?<rev>[A-Za-z0-9._/-]{1,255}))?$")]
    private static partial Regex IdRegex();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    internal static partial Regex CommitHashRegex();
}

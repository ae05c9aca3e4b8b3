using System.Text.RegularExpressions;

namespace M3.Hub;

/// <summary>A model on the Hugging Face hub: <c>owner/name[@revision]</c>, revision defaulting to <c>main</c>.</summary>
public sealed partial record HubModelId(string Owner, string Name, string Revision)
{
    /// <summary>The revision of an id written without <c>@revision</c>.</summary>
    public const string DefaultRevision = "main";

    /// <summary>The repository id as the hub's URLs spell it: <c>owner/name</c>.</summary>
    public string RepoId => $"{Owner}/{Name}";

    /// <summary>True when <see cref="Revision"/> is a full commit hash, which never moves (no ref lookup needed).</summary>
    public bool IsCommitHash => CommitHashRegex().IsMatch(Revision);

    /// <summary>Parses <c>owner/name</c> or <c>owner/name@revision</c> (a branch, tag or commit hash).</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not a hub model id; the message says what one looks like.</exception>
    public static HubModelId Parse(string text)
    {
        if (TryParse(text, out var id)) return id;
        throw new FormatException(
            $"'{text}' is not a hub model id: expected owner/name or owner/name@revision " +
            "(letters, digits, '-', '_', '.'; a revision is a branch, tag or commit hash such as main, v1.0 or refs/pr/3, " +
            "with no empty, '.'-leading or '.lock'-ending parts and no '..'; e.g. BAAI/bge-m3 or BAAI/bge-m3@main)");
    }

    /// <summary>Parses like <see cref="Parse"/>; false (and <paramref name="id"/> null) instead of an exception.</summary>
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
        if (!IsValidRevision(revision)) return false;
        id = new HubModelId(owner, name, revision);
        return true;
    }

    /// <summary>
    /// A branch, tag or commit as git's ref-name rules allow (the subset the hub uses): '/'-separated parts, none empty,
    /// none starting with '.' or ending with ".lock", no "..". This also keeps the revision a relative path below refs/.
    /// </summary>
    internal static bool IsValidRevision(string revision) =>
        RevisionCharsRegex().IsMatch(revision) && !revision.Contains("..")
        && revision.Split('/').All(part => part.Length > 0 && part[0] != '.' && !part.EndsWith(".lock", StringComparison.Ordinal));

    /// <summary><c>owner/name@revision</c>, which <see cref="Parse"/> reads back.</summary>
    public override string ToString() => $"{RepoId}@{Revision}";

    [GeneratedRegex(@"^(?<owner>[A-Za-z0-9][A-Za-z0-9._-]{0,95})/(?<name>[A-Za-z0-9][A-Za-z0-9._-]{0,95})(@(?<rev>.+))?\z")]
    private static partial Regex IdRegex();

    [GeneratedRegex(@"^[A-Za-z0-9._/-]{1,255}\z")]
    private static partial Regex RevisionCharsRegex();

    [GeneratedRegex(@"^[0-9a-f]{40}\z")]
    internal static partial Regex CommitHashRegex();
}

namespace M3.Hub;

/// <summary>What the hub says about one file at a revision: the commit it resolved to, its etag (blob name) and size.</summary>
internal sealed record RemoteFile(string FileName, string Commit, string Etag, long Size)
{
    /// <summary>LFS files carry their SHA-256 as etag; small git files carry the git blob sha1, which we do not recompute.</summary>
    public bool HasSha256Etag => Etag.Length == 64 && Etag.All(char.IsAsciiHexDigitLower);
}

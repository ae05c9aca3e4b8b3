namespace M3.Hub.Tests;

public sealed class HubModelIdTests
{
    [Theory]
    [InlineData("BAAI/bge-m3", "BAAI", "bge-m3", "main")]
    [InlineData("BAAI/bge-m3@v1.0", "BAAI", "bge-m3", "v1.0")]
    [InlineData("org.x/model_y@refs/pr/3", "org.x", "model_y", "refs/pr/3")]
    [InlineData("a/b@5617a9f61b028005a4858fdac845db406aefb181", "a", "b", "5617a9f61b028005a4858fdac845db406aefb181")]
    public void Parses_owner_name_and_revision(string text, string owner, string name, string revision)
    {
        var id = HubModelId.Parse(text);

        Assert.Equal(new HubModelId(owner, name, revision), id);
        Assert.Equal($"{owner}/{name}", id.RepoId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("bge-m3")]
    [InlineData("a/b/c")]
    [InlineData("/abs/path")]
    [InlineData("a/b@")]
    [InlineData("../b")]
    [InlineData("a/..")]
    [InlineData("a/b@../../etc")]
    [InlineData("a b/c")]
    [InlineData("a/b@/abs/path")]
    [InlineData("a/b@refs//pr")]
    [InlineData("a/b@main/")]
    [InlineData("a/b@.hidden")]
    [InlineData("a/b@refs/.x")]
    [InlineData("a/b@x.lock")]
    [InlineData("a/b@main\n")]
    [InlineData("a/b\n")]
    [InlineData("a/b@ma in")]
    public void Rejects_malformed_ids(string text)
    {
        Assert.False(HubModelId.TryParse(text, out _));
        var e = Assert.Throws<FormatException>(() => HubModelId.Parse(text));
        Assert.Contains("owner/name", e.Message);
    }

    [Fact]
    public void Commit_hash_revision_is_recognized()
    {
        Assert.True(HubModelId.Parse("a/b@5617a9f61b028005a4858fdac845db406aefb181").IsCommitHash);
        Assert.False(HubModelId.Parse("a/b").IsCommitHash);
    }
}

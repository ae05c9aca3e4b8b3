namespace M3.Hub.Tests;

/// <summary>A hub (or a user's model argument) that tries to make the client write outside its cache or past a file's size.</summary>
public sealed class HostileHubTests : HubTestBase
{
    private const string Model = "BAAI/bge-m3";

    [Fact]
    public async Task Absolute_path_as_revision_is_refused_and_the_file_there_is_untouched()
    {
        var victim = Path.Combine(Sandbox, "victim");
        File.WriteAllText(victim, "precious");
        var repo = Hub.AddRepo(Model, Fixture.Files);
        repo.Branches[victim] = repo.Main;

        await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync($"{Model}@{victim}", Options()));
        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync(new HubModelId("BAAI", "bge-m3", victim), Options()));

        Assert.Contains("outside", e.Message);
        Assert.Equal("precious", File.ReadAllText(victim));
        AssertNothingOutsideTheRepo();
    }

    [Fact]
    public async Task Climbing_revision_is_refused()
    {
        var repo = Hub.AddRepo(Model, Fixture.Files);
        repo.Branches["../../x"] = repo.Main;

        await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync($"{Model}@../../x", Options()));
        await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync(new HubModelId("BAAI", "bge-m3", "../../x"), Options()));

        AssertNothingOutsideTheRepo();
    }

    [Theory]
    [InlineData("ETag", "\"../../evil\"")]
    [InlineData("ETag", "W/\"/tmp/evil\"")]
    [InlineData("ETag", "\"not-a-hash\"")]
    [InlineData("X-Repo-Commit", "../../x")]
    [InlineData("X-Repo-Commit", "/tmp/x")]
    [InlineData("X-Repo-Commit", "main")]
    public async Task Header_that_is_not_a_hash_is_refused_before_anything_is_written(string header, string value)
    {
        Hub.AddRepo(Model, Fixture.Files);
        Hub.HeaderOverrides[header] = value;

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync(Model, Options()));

        Assert.Contains(value, e.Message);
        Assert.Contains("HF_ENDPOINT", e.Message);
        Assert.False(Directory.Exists(CacheDir) && Directory.EnumerateFileSystemEntries(CacheDir, "*", SearchOption.AllDirectories)
            .Any(p => File.Exists(p) && !p.Contains(".locks")), "nothing but lock folders may be written");
        AssertNothingOutsideTheRepo();
    }

    [Fact]
    public async Task Declared_size_beyond_any_encoder_file_is_refused()
    {
        Hub.AddRepo(Model, Fixture.Files);
        Hub.HeaderOverrides["X-Linked-Size"] = long.MaxValue.ToString();

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync(Model, Options()));

        Assert.Contains(long.MaxValue.ToString(), e.Message);
    }

    [Theory]
    [InlineData("model.safetensors", false)]
    [InlineData("model.safetensors", true)]
    [InlineData("config.json", false)]
    [InlineData("config.json", true)]
    public async Task Body_longer_than_declared_is_an_error_and_nothing_past_the_size_is_written(string file, bool chunked)
    {
        Hub.AddRepo(Model, Fixture.Files);
        Hub.LongerBody = (file, 5_000_000);
        Hub.Chunked = chunked;
        var declared = Fixture.Files[file].Length;

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync(Model, Options()));

        Assert.Contains(file, e.Message);
        Assert.Contains($"declared {declared} bytes", e.Message);
        var blobs = Path.Combine(RepoFolder(Model), "blobs");
        Assert.All(Directory.GetFiles(blobs), blob => Assert.True(new FileInfo(blob).Length <= declared || !blob.EndsWith(".incomplete"),
            $"{blob} holds more than the declared size"));
        Assert.Empty(Directory.GetFiles(blobs, "*.incomplete"));
        Assert.False(Directory.Exists(Path.Combine(RepoFolder(Model), "snapshots")) &&
                     Directory.GetFiles(Path.Combine(RepoFolder(Model), "snapshots"), file, SearchOption.AllDirectories).Length > 0);
    }

    /// <summary>Everything in the sandbox is the repo's folder or huggingface_hub's lock folder for it.</summary>
    private void AssertNothingOutsideTheRepo()
    {
        var allowed = new[] { Path.Combine(Sandbox, "victim"), CacheDir, RepoFolder(Model), Path.Combine(CacheDir, ".locks") };
        foreach (var entry in Directory.EnumerateFileSystemEntries(Sandbox, "*", SearchOption.AllDirectories))
        {
            Assert.True(allowed.Any(a => entry == a || entry.StartsWith(a + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                                         && a != CacheDir && a != Path.Combine(Sandbox, "victim")),
                $"{entry} was created outside the repo's cache folder");
        }
    }
}

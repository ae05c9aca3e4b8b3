using M3.Tests;

namespace M3.Hub.Tests;

public sealed class CacheTests : HubTestBase
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";

    [Fact]
    public async Task Offline_with_empty_cache_lists_what_is_missing()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/bge-m3", Options(offline: true)));

        Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
        foreach (var name in new[] { "config.json", "tokenizer_config.json", "tokenizer.json", "model.safetensors", "colbert_linear.pt", "sparse_linear.pt" })
            Assert.Contains(name, e.Message);
        Assert.Empty(Hub.Requests);
    }

    [Fact]
    public async Task Offline_with_full_cache_works_without_requests()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var online = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());
        Hub.Requests.Clear();

        var offline = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options(offline: true));

        Assert.Equal(online, offline);
        Assert.Empty(Hub.Requests);
    }

    [Fact]
    public async Task Offline_with_partial_cache_names_the_missing_file()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var snapshot = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());
        File.Delete(Path.Combine(snapshot, "sparse_linear.pt"));

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/bge-m3", Options(offline: true)));

        Assert.Contains("sparse_linear.pt", e.Message);
        Assert.DoesNotContain("colbert_linear.pt", e.Message);
    }

    [Fact]
    public async Task Cache_written_by_huggingface_hub_is_reused_without_network()
    {
        // Laid out by hand the way huggingface_hub's snapshot_download leaves it (whole repo, golden files included).
        var folder = RepoFolder("BAAI/bge-m3");
        Directory.CreateDirectory(Path.Combine(folder, "refs"));
        File.WriteAllText(Path.Combine(folder, "refs", "main"), Commit);
        var snapshot = Directory.CreateDirectory(Path.Combine(folder, "snapshots", Commit)).FullName;
        var blobs = Directory.CreateDirectory(Path.Combine(folder, "blobs")).FullName;
        foreach (var (name, bytes) in Fixture.Files)
        {
            var etag = FakeHub.GitBlobSha1(bytes);
            File.WriteAllBytes(Path.Combine(blobs, etag), bytes);
            File.CreateSymbolicLink(Path.Combine(snapshot, name), "../../blobs/" + etag);
        }
        var options = Options() with { Endpoint = "http://127.0.0.1:1" };

        var resolved = await HubModelResolver.ResolveAsync("BAAI/bge-m3", options);
        var pinned = await HubModelResolver.ResolveAsync($"BAAI/bge-m3@{Commit}", options);

        Assert.Equal(snapshot, resolved);
        Assert.Equal(snapshot, pinned);
        AssertFilesMatchFixture(resolved, Fixture.EncoderFiles);
    }

    [Fact]
    public async Task Dangling_snapshot_link_counts_as_missing()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var snapshot = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());
        var blob = Path.GetFullPath(Path.Combine(snapshot, new FileInfo(Path.Combine(snapshot, "tokenizer_config.json")).LinkTarget!));
        File.Delete(blob);

        await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());

        AssertSameBytes(Path.Combine(TestPaths.TinyM3, "tokenizer_config.json"), Path.Combine(snapshot, "tokenizer_config.json"));
    }

    [Fact]
    public async Task Local_folder_is_returned_as_is()
    {
        var resolved = await HubModelResolver.ResolveAsync(TestPaths.TinyM3, Options());

        Assert.Equal(Path.GetFullPath(TestPaths.TinyM3), resolved);
        Assert.Empty(Hub.Requests);
    }
}

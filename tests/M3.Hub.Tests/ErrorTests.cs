namespace M3.Hub.Tests;

public sealed class ErrorTests : HubTestBase
{
    [Fact]
    public async Task Unknown_repo_says_check_the_id()
    {
        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("nobody/nothing", Options()));

        Assert.Contains("nobody/nothing", e.Message);
        Assert.Contains("check the id", e.Message);
    }

    [Fact]
    public async Task Unknown_revision_names_the_revision()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/bge-m3@v9", Options()));

        Assert.Contains("'v9'", e.Message);
    }

    [Fact]
    public async Task Gated_repo_needs_the_token()
    {
        Hub.AddRepo("BAAI/gated", Fixture.Files, token: "hf_right");

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/gated", Options()));
        Assert.Contains("HF_TOKEN", e.Message);
        Assert.Contains("BAAI/gated", e.Message);
        Assert.Contains("401", e.Message);

        var snapshot = await HubModelResolver.ResolveAsync("BAAI/gated", Options(token: "hf_right"));
        Assert.True(File.Exists(Path.Combine(snapshot, "model.safetensors")));
    }

    [Fact]
    public async Task Repo_without_a_required_file_names_it()
    {
        Hub.AddRepo("someone/not-m3", Fixture.Without("colbert_linear.pt"));

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("someone/not-m3", Options()));

        Assert.Contains("colbert_linear.pt", e.Message);
        Assert.DoesNotContain("sparse_linear.pt", e.Message);
    }

    [Fact]
    public async Task Unreachable_endpoint_suggests_offline_mode()
    {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var options = Options() with { Endpoint = "http://127.0.0.1:1" };

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/bge-m3", options));

        Assert.Contains("cannot reach http://127.0.0.1:1", e.Message);
        Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
    }

    [Fact]
    public async Task Full_disk_names_the_cache_folder_and_the_size()
    {
        if (!File.Exists("/dev/full")) return; // Linux only: writes there fail with ENOSPC, as on a full disk
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            File.ReadAllBytes(Path.Combine(M3.Tests.TestPaths.TinyM3, "model.safetensors"))));
        var blobs = Directory.CreateDirectory(Path.Combine(RepoFolder("BAAI/bge-m3"), "blobs")).FullName;
        File.CreateSymbolicLink(Path.Combine(blobs, sha + ".incomplete"), "/dev/full");

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/bge-m3", Options()));

        Assert.Contains($"not enough disk space in {CacheDir}", e.Message);
        Assert.Matches(@"need \d+ bytes", e.Message);
        Assert.False(File.Exists(Path.Combine(blobs, sha)));
    }

    [Fact]
    public void Disk_space_message_never_asks_for_a_negative_size() =>
        Assert.Contains("need 0 bytes", DiskSpace.Error(CacheDir, -18506482).Message);

    [Fact]
    public async Task Neither_folder_nor_id_is_rejected_clearly()
    {
        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("no such/folder/here", Options()));

        Assert.Contains("neither an existing folder nor a hub model id", e.Message);
    }
}

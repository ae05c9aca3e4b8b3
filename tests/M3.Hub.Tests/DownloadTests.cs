using M3.Tests;

namespace M3.Hub.Tests;

public sealed class DownloadTests : HubTestBase
{
    [Fact]
    public async Task Fresh_cache_downloads_the_encoder_files_in_huggingface_hub_layout()
    {
        var repo = Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var reports = new List<DownloadProgress>();
        var progress = new SyncProgress<DownloadProgress>(reports.Add);

        var snapshot = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options(token: "secret"), progress);

        var folder = RepoFolder("BAAI/bge-m3");
        Assert.Equal(Path.Combine(folder, "snapshots", repo.Main), snapshot);
        Assert.Equal(repo.Main, File.ReadAllText(Path.Combine(folder, "refs", "main")));
        AssertFilesMatchFixture(snapshot, Fixture.EncoderFiles);
        Assert.Equal(Fixture.EncoderFiles.Order(), Directory.GetFiles(snapshot).Select(Path.GetFileName).Order());

        // Blobs named by etag (SHA-256 for LFS files, git sha1 for small ones), snapshots as relative symlinks to them.
        var weights = File.ReadAllBytes(Path.Combine(TestPaths.TinyM3, "model.safetensors"));
        var weightsSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(weights));
        var configSha1 = FakeHub.GitBlobSha1(File.ReadAllBytes(Path.Combine(TestPaths.TinyM3, "config.json")));
        Assert.Equal($"../../blobs/{weightsSha}", new FileInfo(Path.Combine(snapshot, "model.safetensors")).LinkTarget);
        Assert.Equal($"../../blobs/{configSha1}", new FileInfo(Path.Combine(snapshot, "config.json")).LinkTarget);
        Assert.Empty(Directory.GetFiles(Path.Combine(folder, "blobs"), "*.incomplete"));

        // The token went to the hub only, never to the CDN host.
        Assert.NotEmpty(Hub.CdnAuthorizations);
        Assert.All(Hub.CdnAuthorizations, Assert.Null);

        var last = reports[^1];
        Assert.Equal(last.TotalSize, last.TotalBytes);
        Assert.True(last.TotalSize > weights.Length);
    }

    [Fact]
    public async Task Second_resolution_makes_no_request()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var first = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());
        Hub.Requests.Clear();

        var second = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());

        Assert.Equal(first, second);
        Assert.Empty(Hub.Requests);
    }

    [Fact]
    public async Task Revision_pinned_to_a_commit_gets_that_commit()
    {
        var repo = Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var oldCommit = repo.Main;
        var changed = Fixture.Files;
        changed["config.json"] = "{\"changed\": true}"u8.ToArray();
        repo.AddCommit(changed);

        var pinned = await HubModelResolver.ResolveAsync($"BAAI/bge-m3@{oldCommit}", Options());
        var latest = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());

        Assert.EndsWith(oldCommit, pinned);
        AssertSameBytes(Path.Combine(TestPaths.TinyM3, "config.json"), Path.Combine(pinned, "config.json"));
        Assert.Equal("{\"changed\": true}", File.ReadAllText(Path.Combine(latest, "config.json")));
        // Unchanged files are the same blobs: the second commit downloaded only the new config.
        Assert.Equal(new FileInfo(Path.Combine(pinned, "model.safetensors")).LinkTarget,
                     new FileInfo(Path.Combine(latest, "model.safetensors")).LinkTarget);
    }

    [Fact]
    public async Task Connection_dropped_half_way_is_resumed_with_a_range_request()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        Hub.DropHalfwayOnce = "model.safetensors";

        var snapshot = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());

        AssertFilesMatchFixture(snapshot, Fixture.EncoderFiles);
        var ranges = Hub.CdnRequests.Where(r => r.File == "model.safetensors").Select(r => r.Range).ToList();
        Assert.Equal(2, ranges.Count);
        Assert.Equal("", ranges[0]);
        Assert.Matches("^bytes=[1-9][0-9]*-$", ranges[1]);
    }

    [Fact]
    public async Task Retries_are_bounded_and_the_next_run_resumes()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        Hub.DropHalfwayAlways = "model.safetensors";

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/bge-m3", Options() with { MaxRetries = 2 }));

        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("failed 3 times", e.Message);
        Assert.Contains("run again to resume", e.Message);
        Assert.Equal(3, Hub.CdnRequests.Count(r => r.File == "model.safetensors"));
        var partial = Assert.Single(Directory.GetFiles(Path.Combine(RepoFolder("BAAI/bge-m3"), "blobs"), "*.incomplete"));
        var kept = new FileInfo(partial).Length;
        Assert.True(kept > 0);

        Hub.DropHalfwayAlways = null;
        Hub.CdnRequests.Clear();
        var snapshot = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());

        Assert.Equal([("model.safetensors", $"bytes={kept}-")], Hub.CdnRequests);
        AssertFilesMatchFixture(snapshot, Fixture.EncoderFiles);
    }

    [Fact]
    public async Task Server_ignoring_range_restarts_the_partial_file_cleanly()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var weights = File.ReadAllBytes(Path.Combine(TestPaths.TinyM3, "model.safetensors"));
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(weights));
        var blobs = Directory.CreateDirectory(Path.Combine(RepoFolder("BAAI/bge-m3"), "blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, sha + ".incomplete"), weights[..1000]);
        Hub.IgnoreRange = true;

        var snapshot = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());

        Assert.Contains(("model.safetensors", "bytes=1000-"), Hub.CdnRequests);
        AssertFilesMatchFixture(snapshot, Fixture.EncoderFiles);
        Assert.False(File.Exists(Path.Combine(blobs, sha + ".incomplete")));
    }

    [Fact]
    public async Task Corrupt_download_is_rejected_and_leaves_no_blob()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        Hub.CorruptFile = "model.safetensors";
        var weights = File.ReadAllBytes(Path.Combine(TestPaths.TinyM3, "model.safetensors"));
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(weights));

        var e = await Assert.ThrowsAsync<HubException>(() => HubModelResolver.ResolveAsync("BAAI/bge-m3", Options()));

        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains(sha, e.Message);
        Assert.Matches("SHA-256 [0-9a-f]{64}", e.Message);
        var blobs = Path.Combine(RepoFolder("BAAI/bge-m3"), "blobs");
        Assert.False(File.Exists(Path.Combine(blobs, sha)));
        Assert.False(File.Exists(Path.Combine(blobs, sha + ".incomplete")));
    }

    [Fact]
    public async Task Repo_with_only_pickle_weights_falls_back_to_pytorch_model_bin()
    {
        Hub.AddRepo("someone/m3-pt", Fixture.Without("model.safetensors"));

        var snapshot = await HubModelResolver.ResolveAsync("someone/m3-pt", Options());

        AssertSameBytes(Path.Combine(TestPaths.TinyM3, "pytorch_model.bin"), Path.Combine(snapshot, "pytorch_model.bin"));
        Assert.False(File.Exists(Path.Combine(snapshot, "model.safetensors")));
    }

    [Fact]
    public async Task Concurrent_resolutions_of_one_model_share_the_downloads()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);

        var folders = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => HubModelResolver.ResolveAsync("BAAI/bge-m3", Options())));

        Assert.Single(folders.Distinct());
        AssertFilesMatchFixture(folders[0], Fixture.EncoderFiles);
        Assert.Empty(Directory.GetFiles(folders[0], "*.tmp-*"));
    }

    [Fact]
    public async Task Partly_cached_snapshot_downloads_only_the_missing_files()
    {
        Hub.AddRepo("BAAI/bge-m3", Fixture.Files);
        var snapshot = await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());
        File.Delete(Path.Combine(snapshot, "colbert_linear.pt"));
        Hub.Requests.Clear();

        await HubModelResolver.ResolveAsync("BAAI/bge-m3", Options());

        AssertFilesMatchFixture(snapshot, Fixture.EncoderFiles);
        Assert.DoesNotContain(Hub.Requests, r => r.StartsWith("GET") && !r.Contains("colbert_linear.pt"));
    }
}

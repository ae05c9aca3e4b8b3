using M3.Cli.Infrastructure;
using M3.Hub;
using M3.Tests;

namespace M3.Cli.Tests;

public sealed class ModelLocatorTests
{
    private static HubOptions OfflineIn(string cache) => new() { CacheDirectory = cache, Offline = true, Endpoint = "http://127.0.0.1:1" };

    [Fact]
    public void Local_folder_is_used_as_is()
    {
        Assert.Equal(Path.GetFullPath(TestPaths.TinyM3), ModelLocator.Resolve(TestPaths.TinyM3, OfflineIn(TestPaths.NewTempDir())));
    }

    [Fact]
    public void Neither_folder_nor_hub_id_is_a_clear_error()
    {
        var e = Assert.Throws<CliError>(() => ModelLocator.Resolve("./no/such/folder", OfflineIn(TestPaths.NewTempDir())));

        Assert.Contains("neither a folder nor a hub id", e.Message);
    }

    [Fact]
    public void Hub_id_missing_from_an_offline_cache_says_what_to_do()
    {
        var cache = TestPaths.NewTempDir();
        try
        {
            var e = Assert.Throws<CliError>(() => ModelLocator.Resolve("BAAI/bge-m3", OfflineIn(cache)));

            Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
            Assert.Contains("config.json", e.Message);
            Assert.Contains("read as a hub id", e.Message);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void Hub_id_in_the_cache_resolves_to_its_snapshot()
    {
        var cache = TestPaths.NewTempDir();
        try
        {
            const string commit = "0123456789abcdef0123456789abcdef01234567";
            var repo = Path.Combine(cache, "models--BAAI--bge-m3");
            Directory.CreateDirectory(Path.Combine(repo, "refs"));
            File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
            var snapshot = Directory.CreateDirectory(Path.Combine(repo, "snapshots", commit)).FullName;
            foreach (var file in Directory.GetFiles(TestPaths.TinyM3)) File.Copy(file, Path.Combine(snapshot, Path.GetFileName(file)));

            Assert.Equal(snapshot, ModelLocator.Resolve("BAAI/bge-m3", OfflineIn(cache)));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }
}

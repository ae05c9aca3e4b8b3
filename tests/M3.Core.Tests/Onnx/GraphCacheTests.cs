using M3.Core.Inference;
using M3.Core.Onnx;
using M3.Core.Tests.Inference;
using M3.Tests;

namespace M3.Core.Tests.Onnx;

/// <summary>A cached graph damaged on disk is noticed before use and rebuilt, so the encoder still gives the reference outputs.</summary>
public sealed class GraphCacheTests : IDisposable
{
    private readonly string _cache = TestPaths.NewTempDir("m3graphs");
    private readonly List<string> _log = [];
    private static readonly Golden Golden = Golden.Load(TestPaths.TinyM3);

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private M3Encoder Load() => M3Encoder.Load(TestPaths.TinyM3, new M3LoadOptions { CacheDirectory = _cache, Log = _log.Add });

    private string Entry() => Directory.GetDirectories(_cache).Single(d => !Path.GetFileName(d).StartsWith('.'));

    public static TheoryData<string, string> Damage => new()
    {
        { GraphCache.DataFileName, "truncate" },
        { GraphCache.DataFileName, "flip" },
        { GraphCache.ModelFileName, "flip" },
        { GraphCache.DataFileName, "delete" },
        { GraphSeal.FileName, "delete" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void Damaged_cached_graph_is_rebuilt_and_gives_the_reference_outputs(string file, string damage)
    {
        using (Load()) { }
        Assert.Empty(_log);
        var path = Path.Combine(Entry(), file);
        switch (damage)
        {
            case "truncate":
                using (var s = File.OpenWrite(path)) s.SetLength(s.Length / 2);
                break;
            case "flip":
                var bytes = File.ReadAllBytes(path);
                for (var i = bytes.Length / 2; i < Math.Min(bytes.Length, bytes.Length / 2 + 65536); i++) bytes[i] ^= 0x5A;
                File.WriteAllBytes(path, bytes);
                break;
            default:
                File.Delete(path);
                break;
        }

        using var encoder = Load();

        var line = Assert.Single(_log);
        Assert.Contains("is damaged", line);
        Assert.Contains("rebuilding", line);
        Assert.Null(GraphSeal.FindDamage(Entry()));
        var items = Golden.Items.Take(8).ToList();
        var results = encoder.EncodeIds(items.Select(i => i.InputIds).ToList());
        for (var i = 0; i < items.Count; i++) GoldenTests.AssertMatches(items[i], results[i], i);
        Assert.Single(Directory.GetFileSystemEntries(_cache), e => !Path.GetFileName(e).StartsWith('.'));
    }

    [Fact]
    public void Intact_cached_graph_is_used_without_a_rebuild()
    {
        using (Load()) { }
        var data = Path.Combine(Entry(), GraphCache.DataFileName);
        var built = File.GetLastWriteTimeUtc(data);

        using (Load()) { }

        Assert.Empty(_log);
        Assert.Equal(built, File.GetLastWriteTimeUtc(data));
    }
}

using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using M3.Retrieval;
using M3.Tests;

namespace M3.Server.Tests;

/// <summary>/search on a served index follows what other processes commit, and answers concurrent requests.</summary>
public sealed class IndexHostingTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("m3serveindex");
    public void Dispose() => Directory.Delete(_dir, true);

    private static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static async Task<List<string>> Ids(HttpClient client, string query, string mode = "dense")
    {
        var r = await client.PostAsync("/search", Body(new { query, mode, top_k = 50 }));
        r.EnsureSuccessStatusCode();
        var json = await r.Content.ReadFromJsonAsync<JsonElement>();
        return [.. json.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()!)];
    }

    [Fact]
    public async Task Documents_added_and_deleted_by_another_writer_are_seen_without_a_restart()
    {
        using (var ix = M3Index.OpenOrCreate(_dir, TestPaths.TinyM3, fixture.Encoder.HiddenSize))
            ix.Add([new IndexDocument("a", "the cat sat on the mat"), new IndexDocument("b", "dogs bark at night")], fixture.Encoder);
        var (server, client) = await fixture.StartAsync(o => o with { IndexDirectory = _dir });
        await using var _ = server;
        Assert.Equal(["a", "b"], (await Ids(client, "cat")).Order());

        // Another writer (as 'm3 index add' in another process would): the server's index instance is not told.
        using (var writer = M3Index.Open(_dir))
        {
            writer.Add([new IndexDocument("c", "a bird sings in the morning")], fixture.Encoder);
            Assert.True(writer.Delete("a"));
        }
        Assert.Equal(["b", "c"], (await Ids(client, "cat")).Order());

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Ids(client, $"query {i}", i % 2 == 0 ? "hybrid" : "sparse")));
        Assert.All(concurrent, ids => Assert.Equal(["b", "c"], ids.Order()));
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using M3.Core.Inference;
using M3.Core.Scoring;
using M3.Core.Serialization;

namespace M3.Server.Tests;

/// <summary>The server over real HTTP on loopback: outputs equal the encoder's, errors have the right status, it keeps serving.</summary>
public sealed class ServerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] Texts = ["Hello world", "Привет, мир", "一个模型同时给出稠密、稀疏和多向量表示。", "", "ok"];

    internal static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
    internal static StringContent Raw(string text) => new(text, Encoding.UTF8, "application/json");

    internal static async Task<JsonElement> Json(HttpResponseMessage r)
    {
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }

    internal static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f, $"[{i}] {actual[i]} vs {expected[i]}");
    }

    /// <summary>Asserts an RFC 7807 problem of that status whose detail shows no path; returns the detail.</summary>
    internal static async Task<string> ExpectProblem(HttpStatusCode status, HttpResponseMessage r)
    {
        Assert.Equal(status, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var p = await Json(r);
        Assert.Equal((int)status, p.GetProperty("status").GetInt32());
        var detail = p.GetProperty("detail").GetString()!;
        Assert.DoesNotContain("/", detail.Replace("Bearer", "").Replace("/search", ""));
        return detail;
    }

    [Fact]
    public async Task OpenAI_embeddings_equal_the_encoder_in_float_and_base64()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        var expected = fixture.Encoder.Encode(Texts);
        var r = await client.PostAsync("/v1/embeddings", Body(new { input = Texts, model = "bge-m3" }));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var json = await Json(r);
        Assert.Equal("list", json.GetProperty("object").GetString());
        Assert.Equal("bge-m3", json.GetProperty("model").GetString());
        var data = json.GetProperty("data").EnumerateArray().ToList();
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.Equal(i, data[i].GetProperty("index").GetInt32());
            Close(expected[i].Dense, data[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        }
        Assert.Equal(expected.Sum(e => e.TokenCount), json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var b64 = await Json(await client.PostAsync("/v1/embeddings", Body(new { input = "Hello world", encoding_format = "base64" })));
        var bytes = Convert.FromBase64String(b64.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Close(expected[0].Dense, MemoryMarshal.Cast<byte, float>(bytes));
    }

    [Fact]
    public async Task Embed_returns_every_requested_representation_equal_to_the_encoder()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        var expected = fixture.Encoder.Encode(Texts);
        var json = await Json(await client.PostAsync("/embed", Body(new { inputs = Texts, dense = true, sparse = true, colbert = true, return_tokens = true })));
        var items = json.EnumerateArray().ToList();
        Assert.Equal(Texts.Length, items.Count);
        for (int i = 0; i < Texts.Length; i++)
        {
            var e = EmbeddingJson.Read(items[i]);
            Close(expected[i].Dense, e.Dense);
            Close(expected[i].Colbert!.Data, e.Colbert!.Data);
            Assert.Equal(expected[i].Sparse!.Ids.ToArray(), e.Sparse!.Ids.ToArray());
            Close(expected[i].Sparse!.Weights, e.Sparse.Weights);
        }
        var dense = await Json(await client.PostAsync("/embed", Body(new { inputs = "x", sparse = false })));
        Assert.Equal(["dense"], dense[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Score_and_tokenize_match_the_library()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        var json = await Json(await client.PostAsync("/score", Body(new { pairs = new[] { new { query = Texts[0], passage = Texts[1] } }, weights = new[] { 1, 1, 1 } })));
        var e = fixture.Encoder.Encode([Texts[0], Texts[1]]);
        var s = M3Scores.All(e[0], e[1], new HybridWeights(1, 1, 1));
        Assert.Equal(s.Dense, json[0].GetProperty("dense").GetSingle(), 1e-6f);
        Assert.Equal(s.ColbertSparseDense, json[0].GetProperty("colbert+sparse+dense").GetSingle(), 1e-6f);
        var tok = await Json(await client.PostAsync("/tokenize", Body(new { inputs = new[] { Texts[1] } })));
        Assert.Equal(fixture.Encoder.Tokenizer.EncodeToIds(Texts[1]), tok[0].GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
    }

    [Fact]
    public async Task Concurrent_clients_each_get_their_own_results()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        var texts = Enumerable.Range(0, 64).Select(i => $"text number {i} " + string.Concat(Enumerable.Repeat("word ", i % 17))).ToList();
        var expected = fixture.Encoder.Encode(texts);
        await Parallel.ForEachAsync(Enumerable.Range(0, texts.Count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var json = await Json(await client.PostAsync("/v1/embeddings", Body(new { input = texts[i] }), ct));
            Close(expected[i].Dense, json.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        });
    }

    [Fact]
    public async Task Bad_requests_get_problem_details_and_the_server_keeps_serving()
    {
        var (server, client) = await fixture.StartAsync(o => o with { MaxInputsPerRequest = 4, MaxCharactersPerInput = 100, MaxRequestBodyBytes = 10_000 });
        await using var _ = server;
        await ExpectProblem(HttpStatusCode.BadRequest, await client.PostAsync("/v1/embeddings", Raw("{not json")));
        await ExpectProblem(HttpStatusCode.BadRequest, await client.PostAsync("/v1/embeddings", Body(new { input = 5 })));
        await ExpectProblem(HttpStatusCode.BadRequest, await client.PostAsync("/v1/embeddings", Body(new { input = new[] { 1, 2 } })));
        await ExpectProblem(HttpStatusCode.BadRequest, await client.PostAsync("/v1/embeddings", Body(new { input = "x", dimensions = 7 })));
        await ExpectProblem(HttpStatusCode.RequestEntityTooLarge, await client.PostAsync("/v1/embeddings", Body(new { input = new[] { "a", "b", "c", "d", "e" } })));
        await ExpectProblem(HttpStatusCode.RequestEntityTooLarge, await client.PostAsync("/embed", Body(new { inputs = new string('x', 101) })));
        await ExpectProblem(HttpStatusCode.RequestEntityTooLarge, await client.PostAsync("/embed", Raw("{\"inputs\": \"" + new string('x', 20_000) + "\"}")));
        await ExpectProblem(HttpStatusCode.UnprocessableEntity, await client.PostAsync("/embed", Body(new { inputs = "x", dense = false, sparse = false })));
        await ExpectProblem(HttpStatusCode.NotFound, await client.GetAsync("/no/such/endpoint"));
        await ExpectProblem(HttpStatusCode.NotFound, await client.PostAsync("/search", Body(new { query = "x" })));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/embeddings", Body(new { input = "still serving" }))).StatusCode);
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("m3_requests_total{endpoint=\"/v1/embeddings\",status=\"400\"} 4", metrics);
        Assert.Contains("m3_batch_size_count", metrics);
    }

    [Fact]
    public async Task Api_key_is_required_when_set()
    {
        var (server, client) = await fixture.StartAsync(o => o with { ApiKey = "s3cret" });
        await using var _ = server;
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))).StatusCode);
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after()
    {
        var (server, client) = await fixture.StartAsync(o => o with { QueueCapacity = 3 });
        await using var _ = server;
        var r = await client.PostAsync("/v1/embeddings", Body(new { input = new[] { "a", "b", "c", "d" } }));
        Assert.Equal((HttpStatusCode)429, r.StatusCode);
        Assert.True(r.Headers.RetryAfter != null);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/embeddings", Body(new { input = new[] { "a", "b", "c" } }))).StatusCode);
    }
}

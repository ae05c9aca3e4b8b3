using System.Net;
using System.Net.Http.Headers;
using static M3.Server.Tests.ServerTests;

namespace M3.Server.Tests;

/// <summary>Requests made to hurt: invalid text, wrong types deep in the body, more tokens than a request may have.</summary>
public sealed class HostileRequestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static ByteArrayContent Bytes(params byte[][] parts)
    {
        var content = new ByteArrayContent(parts.SelectMany(p => p).ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static byte[] Ascii(string s) => System.Text.Encoding.ASCII.GetBytes(s);

    [Theory]
    [InlineData("/v1/embeddings", "input")]
    [InlineData("/embed", "inputs")]
    [InlineData("/tokenize", "inputs")]
    public async Task A_lone_surrogate_or_invalid_utf8_is_a_400_naming_the_field_and_item(string endpoint, string field)
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        var escaped = await ExpectProblem(HttpStatusCode.BadRequest,
            await client.PostAsync(endpoint, Raw($"{{\"{field}\": [\"fine\", \"bad \\ud800 text\"]}}")));
        Assert.Contains($"\"{field}\" item 1 is not valid text", escaped);
        var single = await ExpectProblem(HttpStatusCode.BadRequest, await client.PostAsync(endpoint, Raw($"{{\"{field}\": \"\\udc00\"}}")));
        Assert.Contains($"\"{field}\" is not valid text", single);
        var rawBytes = await ExpectProblem(HttpStatusCode.BadRequest,
            await client.PostAsync(endpoint, Bytes(Ascii($"{{\"{field}\": [\"ok\", \"a\", \"b"), [0xC3, 0x28, 0xFF], Ascii("\"]}"))));
        Assert.Contains($"\"{field}\" item 2 is not valid text", rawBytes);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(endpoint, Body(new Dictionary<string, object> { [field] = "still serving \U0001F600" }))).StatusCode);
        Assert.DoesNotContain("status=\"500\"", server.Metrics.Render());
    }

    [Fact]
    public async Task Wrong_types_anywhere_in_the_body_name_the_field_and_what_was_expected()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        async Task<string> Detail(string endpoint, string json) => await ExpectProblem(HttpStatusCode.BadRequest, await client.PostAsync(endpoint, Raw(json)));

        Assert.Equal("\"dense\" must be true or false", await Detail("/embed", "{\"inputs\": \"x\", \"dense\": \"yes\"}"));
        Assert.Equal("\"dimensions\" must be an integer", await Detail("/v1/embeddings", "{\"input\": \"x\", \"dimensions\": 1.5}"));
        Assert.Equal("\"pairs[1].passage\" must be a string", await Detail("/score", "{\"pairs\": [{\"query\": \"q\", \"passage\": \"p\"}, {\"query\": \"q\", \"passage\": 3}]}"));
        Assert.Equal("\"pairs[0]\" must be an object {\"query\": \"...\", \"passage\": \"...\"}", await Detail("/score", "{\"pairs\": [7]}"));
        Assert.Equal("\"pairs[0].query\" must be a string", await Detail("/score", "{\"pairs\": [{\"passage\": \"p\"}]}"));
        Assert.Equal("\"weights\" must be an array of three numbers (dense, sparse, colbert)", await Detail("/score", "{\"pairs\": [], \"weights\": [1, 2]}"));
        Assert.Equal("\"input\" must be a string or an array of strings", await Detail("/v1/embeddings", "{\"input\": 5}"));
        Assert.StartsWith("\"input\" must contain only strings (item 1", await Detail("/v1/embeddings", "{\"input\": [\"a\", 2]}"));
        Assert.Equal("\"input\" is required: a string or an array of strings", await Detail("/v1/embeddings", "{\"model\": \"m\"}"));
        Assert.Equal("the request body must be a JSON object", await Detail("/v1/embeddings", "[1, 2]"));
        Assert.StartsWith("the request body is not valid JSON", await Detail("/v1/embeddings", "{\"input\": "));
    }

    [Fact]
    public async Task A_request_over_the_token_budget_is_413_with_the_limit()
    {
        var (server, client) = await fixture.StartAsync(o => o with { MaxTokensPerInput = 64, MaxTokensPerRequest = 100 });
        await using var _ = server;
        var words = string.Join(" ", Enumerable.Repeat("word", 40));
        Assert.Equal(42, fixture.Encoder.Tokenizer.EncodeToIds(words).Length);
        var detail = await ExpectProblem(HttpStatusCode.RequestEntityTooLarge, await client.PostAsync("/v1/embeddings", Body(new { input = new[] { words, words, words } })));
        Assert.Contains("126 tokens", detail);
        Assert.Contains("at most 100 per request", detail);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/embeddings", Body(new { input = new[] { words, words } }))).StatusCode);
        // Truncated inputs count with their truncated length: two inputs of 64 tokens each exceed 100.
        var longer = string.Join(" ", Enumerable.Repeat("word", 300));
        Assert.Contains("128 tokens", await ExpectProblem(HttpStatusCode.RequestEntityTooLarge, await client.PostAsync("/embed", Body(new { inputs = new[] { longer, longer } }))));
    }

    [Fact]
    public async Task Long_inputs_are_rejected_with_their_token_count_when_asked()
    {
        var (server, client) = await fixture.StartAsync(o => o with { MaxTokensPerInput = 16, TruncateLongInputs = false });
        await using var _ = server;
        var longer = string.Join(" ", Enumerable.Repeat("word", 30));
        Assert.Equal(32, fixture.Encoder.Tokenizer.EncodeToIds(longer).Length);
        Assert.Equal("input 1 has 32 tokens; at most 16", await ExpectProblem(HttpStatusCode.RequestEntityTooLarge,
            await client.PostAsync("/v1/embeddings", Body(new { input = new[] { "short", longer } }))));
        Assert.Equal("input 0 has 32 tokens; at most 16", await ExpectProblem(HttpStatusCode.RequestEntityTooLarge,
            await client.PostAsync("/tokenize", Body(new { inputs = longer }))));
    }
}

using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static M3.Server.Tests.ServerTests;

namespace M3.Server.Tests;

/// <summary>The endpoints as a component: inside an app of one's own, and described by OpenAPI.</summary>
public sealed class HostingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_endpoints_live_inside_an_existing_app_next_to_its_own()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddM3(fixture.Options with { ApiKey = "k" });
        await using var app = builder.Build();
        app.MapGet("/hello", () => "mine");
        app.MapM3Endpoints("/m3");
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        await app.Services.GetRequiredService<ModelHost>().Loading;

        Assert.Equal("mine", await client.GetStringAsync("/hello"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/m3/health")).StatusCode);
        await ExpectProblem(HttpStatusCode.Unauthorized, await client.PostAsync("/m3/v1/embeddings", Body(new { input = "x" })));
        client.DefaultRequestHeaders.Authorization = new("Bearer", "k");
        var json = await Json(await client.PostAsync("/m3/v1/embeddings", Body(new { input = "Hello world" })));
        Close(fixture.Encoder.Encode(["Hello world"])[0].Dense, json.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))).StatusCode);
    }

    [Fact]
    public async Task A_JSON_body_sent_as_a_form_as_curl_d_sends_it_is_served()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        using var form = new StringContent("{\"input\": [\"hello\"]}", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded");
        var json = await Json(await client.PostAsync("/v1/embeddings", form));
        Close(fixture.Encoder.Encode(["hello"])[0].Dense, json.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_every_endpoint_with_its_request_schema()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        var r = await client.GetAsync(M3Server.OpenApiPath);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var paths = doc.RootElement.GetProperty("paths");
        Assert.Equal(["/embed", "/health", "/metrics", "/score", "/search", "/tokenize", "/v1/embeddings"], paths.EnumerateObject().Select(p => p.Name).Order());
        var body = paths.GetProperty("/v1/embeddings").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json");
        var schemaRef = body.GetProperty("schema").GetProperty("$ref").GetString()!;
        var schema = doc.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(schemaRef.Split('/').Last());
        Assert.Equal(["dimensions", "encoding_format", "input", "model"], schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
    }
}

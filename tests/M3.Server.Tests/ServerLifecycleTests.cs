using System.Net;
using M3.Core.Inference;
using M3.Server.Batching;
using M3.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static M3.Server.Tests.ServerTests;

namespace M3.Server.Tests;

/// <summary>Loading, failing, stopping and logging, each made deterministic with the server's seams (gates instead of delays).</summary>
public sealed class ServerLifecycleTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Health_is_503_while_the_model_loads_and_200_once_it_is_loaded()
    {
        using var loadMayFinish = new ManualResetEventSlim();
        var (server, client) = await fixture.StartAsync(waitReady: false, services: s => s.AddSingleton<EncoderLoader>(o =>
        {
            loadMayFinish.Wait();
            return ModelHost.LoadEncoder(o);
        }));
        await using var _ = server;
        Assert.Equal("the model is loading; retry shortly", await ExpectProblem(HttpStatusCode.ServiceUnavailable, await client.GetAsync("/health")));
        Assert.Equal("the model is loading; retry shortly", await ExpectProblem(HttpStatusCode.ServiceUnavailable, await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))));
        Assert.False(server.Host.Loading.IsCompleted);
        loadMayFinish.Set();
        await server.Host.Loading;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))).StatusCode);
    }

    [Fact]
    public async Task Health_says_the_model_failed_to_load_without_its_path_and_the_failure_is_logged()
    {
        // A folder that passes the start checks (config.json is there) and fails to load (no tokenizer, no weights).
        var broken = TestPaths.NewTempDir("m3broken-model");
        File.Copy(Path.Combine(TestPaths.TinyM3, "config.json"), Path.Combine(broken, "config.json"));
        var logs = new CapturedLogs();
        try
        {
            var (server, client) = await fixture.StartAsync(o => o with { ModelDirectory = broken }, waitReady: false,
                services: s => s.AddSingleton<ILoggerProvider>(logs));
            await using var _ = server;
            await server.Host.Loading;
            Assert.NotNull(server.Host.Failure);
            var health = await client.GetAsync("/health");
            Assert.Equal("the model failed to load; see the server log", await ExpectProblem(HttpStatusCode.ServiceUnavailable, health));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))).StatusCode);
            Assert.Contains(logs.Entries, e => e.Level == LogLevel.Critical && e.Exception == server.Host.Failure);
        }
        finally
        {
            Directory.Delete(broken, true);
        }
    }

    [Fact]
    public async Task Options_the_server_cannot_run_with_stop_it_before_it_starts()
    {
        var e = Assert.Throws<ServerOptionsException>(() => M3Server.Create(fixture.Options with
        {
            MaxBatchSize = 0,
            MaxTokensPerInput = 100_000,
            MaxTokensPerRequest = 10,
            IndexDirectory = "/nonexistent/m3-index",
        }));
        Assert.Contains("--max-batch-size (MaxBatchSize) is 0", e.Message);
        Assert.Contains("--max-tokens (MaxTokensPerInput) 100000 is above the model's maximum", e.Message);
        Assert.Contains("--max-request-tokens (MaxTokensPerRequest) 10 is below --max-tokens", e.Message);
        Assert.Contains("index folder '/nonexistent/m3-index' does not exist", e.Message);
        Assert.Contains("does not exist", Assert.Throws<ServerOptionsException>(() => M3Server.Create(fixture.Options with { ModelDirectory = "/nonexistent/model" })).Message);
    }

    [Fact]
    public async Task A_500_is_logged_with_its_exception_and_shows_no_details()
    {
        var logs = new CapturedLogs();
        var (server, client) = await fixture.StartAsync(services: s =>
        {
            s.AddSingleton<ILoggerProvider>(logs);
            s.AddSingleton<PassEncoder>((_, _) => throw new InvalidOperationException("secret detail"));
        });
        await using var _ = server;
        var detail = await ExpectProblem(HttpStatusCode.InternalServerError, await client.PostAsync("/v1/embeddings", Body(new { input = "x" })));
        Assert.DoesNotContain("secret", detail);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Error && e.Exception?.Message == "secret detail" && e.Message.Contains("/v1/embeddings"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Health_is_503_once_the_encoders_worker_stopped()
    {
        var (server, client) = await fixture.StartAsync();
        await using var _ = server;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        // Stops the worker as only a bug would: options no endpoint passes (a batch size of 0 fails planning itself).
        var scheduler = server.Services.GetRequiredService<EncodeScheduler>();
        await Assert.ThrowsAsync<M3.Server.Http.ApiError>(() => scheduler.TryEncode([[0, 2]], new M3EncodeOptions { BatchSize = 0 })!);
        Assert.Equal("the encoder stopped; see the server log", await ExpectProblem(HttpStatusCode.ServiceUnavailable, await client.GetAsync("/health")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("/v1/embeddings", Body(new { input = "x" }))).StatusCode);
    }

    [Fact]
    public async Task Shutdown_lets_in_flight_requests_finish()
    {
        using var passStarted = new ManualResetEventSlim();
        using var passMayFinish = new ManualResetEventSlim();
        var (server, client) = await fixture.StartAsync(services: s => s.AddSingleton<PassEncoder>(sp =>
        {
            var host = sp.GetRequiredService<ModelHost>();
            return (tokenized, o) =>
            {
                passStarted.Set();
                passMayFinish.Wait();
                return host.Encoder.EncodeTokenized(tokenized, o);
            };
        }));
        var texts = Enumerable.Range(0, 100).Select(i => $"text {i}").ToArray();
        var inFlight = client.PostAsync("/v1/embeddings", Body(new { input = texts }));
        passStarted.Wait(); // the request is being encoded
        var stoppingBegan = new TaskCompletionSource();
        server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(stoppingBegan.SetResult);
        var stopping = server.StopAsync();
        await stoppingBegan.Task; // the host is stopping while the request is still being encoded
        Assert.False(inFlight.IsCompleted);
        passMayFinish.Set();
        var r = await inFlight;
        await stopping;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var expected = fixture.Encoder.Encode(texts, new M3EncodeOptions { Outputs = M3Outputs.Dense });
        var data = (await Json(r)).GetProperty("data");
        Assert.Equal(100, data.GetArrayLength());
        Close(expected[99].Dense, data[99].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        await server.DisposeAsync();
    }
}

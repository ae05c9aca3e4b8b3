using M3.Server.Batching;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using static M3.Server.Tests.ServerTests;

namespace M3.Server.Tests;

/// <summary>A client that goes away over real HTTP: the texts of its request still waiting are never encoded.</summary>
public sealed class DisconnectTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>Signals when the server has seen a request aborted by its client.</summary>
    private sealed class AbortWatch(ManualResetEventSlim aborted) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((ctx, nextMiddleware) =>
            {
                ctx.RequestAborted.Register(aborted.Set);
                return nextMiddleware(ctx);
            });
            next(app);
        };
    }

    [Fact]
    public async Task Texts_of_a_request_whose_client_disconnected_are_dropped_not_encoded()
    {
        using var passStarted = new ManualResetEventSlim();
        using var passMayFinish = new ManualResetEventSlim();
        using var aborted = new ManualResetEventSlim();
        var passes = new List<int>();
        var (server, client) = await fixture.StartAsync(services: s =>
        {
            s.AddSingleton<IStartupFilter>(new AbortWatch(aborted));
            s.AddSingleton<PassEncoder>(sp =>
            {
                var host = sp.GetRequiredService<ModelHost>();
                return (tokenized, o) =>
                {
                    lock (passes) passes.Add(tokenized.Count);
                    passStarted.Set();
                    passMayFinish.Wait();
                    return host.Encoder.EncodeTokenized(tokenized, o);
                };
            });
        });
        await using var _ = server;
        var scheduler = server.Services.GetRequiredService<EncodeScheduler>();

        var first = client.PostAsync("/v1/embeddings", Body(new { input = "holds the encoder" }));
        passStarted.Wait();
        using var leaving = new CancellationTokenSource();
        var abandoned = client.PostAsync("/v1/embeddings", Body(new { input = new[] { "a", "b", "c" } }), leaving.Token);
        while (scheduler.Pending < 4) await Task.Delay(5); // its three texts wait behind the held pass
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        aborted.Wait(); // the server has seen the client go
        passMayFinish.Set();

        Assert.Equal(System.Net.HttpStatusCode.OK, (await first).StatusCode);
        while (scheduler.Pending > 0) await Task.Delay(5);
        Assert.Equal([1], passes);
    }
}

using System.Diagnostics;
using M3.Server.Batching;
using M3.Server.Endpoints;
using M3.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace M3.Server;

/// <summary>The HTTP server: Kestrel, the endpoints, one batching scheduler, problem-details errors, API key, metrics.</summary>
public sealed class M3Server : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EncodeScheduler _scheduler;

    private M3Server(WebApplication app, ModelHost host, EncodeScheduler scheduler, ServerMetrics metrics)
    {
        _app = app;
        Host = host;
        _scheduler = scheduler;
        Metrics = metrics;
    }

    public ModelHost Host { get; }
    public ServerMetrics Metrics { get; }

    /// <summary>The addresses Kestrel listens on (with the real port when 0 was asked for), once started.</summary>
    public IReadOnlyList<string> Addresses => _app.Urls.ToList();

    public static M3Server Create(ServerOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        var app = builder.Build();

        var metrics = new ServerMetrics();
        var host = new ModelHost(options);
        var scheduler = new EncodeScheduler((texts, o) => host.Encoder.Encode(texts, o),
            (text, o) => host.Encoder.Tokenizer.EncodeToIds(text, o.MaxLength).Length, options.QueueCapacity, metrics);
        var encoding = new Endpoints.Encoding(options, host, scheduler);
        var modelId = options.ModelId ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(options.ModelDirectory));

        app.Use(async (ctx, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                if (options.ApiKey is { } key && ctx.Request.Path != "/health"
                    && ctx.Request.Headers.Authorization.ToString() != "Bearer " + key)
                    throw new ApiError(401, "missing or wrong API key: send 'Authorization: Bearer <key>'");
                await next(ctx);
            }
            catch (ApiError e)
            {
                await Json.ProblemAsync(ctx, e.Status, e.Message);
            }
            catch (BadHttpRequestException e)
            {
                await Json.ProblemAsync(ctx, e.StatusCode, e.StatusCode == 413 ? $"the request body is larger than {options.MaxRequestBodyBytes} bytes" : "malformed request");
            }
            catch (Exception) when (!ctx.Response.HasStarted)
            {
                // Never leak stack traces or paths: the details stay in the server.
                await Json.ProblemAsync(ctx, 500, "internal error");
            }
            finally
            {
                metrics.RecordRequest(ctx.GetEndpoint()?.DisplayName is { } n ? n.Split(' ').Last() : "unmatched",
                    ctx.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        });

        app.MapGet("/health", (HttpContext ctx) => host.Ready
            ? Json.WriteAsync(ctx, w => { w.WriteStartObject(); w.WriteString("status", "ready"); w.WriteEndObject(); })
            : Json.ProblemAsync(ctx, 503, host.Failure != null ? "the model failed to load" : "the model is loading"));
        app.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4"));
        EmbeddingEndpoints.Map(app, encoding, host, modelId);
        SearchEndpoints.Map(app, encoding, host);
        app.MapFallback(() => Task.FromException(new ApiError(404, "no such endpoint")));
        return new M3Server(app, host, scheduler, metrics);
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Runs until the host is stopped (Ctrl+C, SIGTERM); in-flight requests finish first.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _scheduler.DisposeAsync();
        await Host.DisposeAsync();
    }
}

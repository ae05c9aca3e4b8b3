using System.Runtime.ExceptionServices;
using M3.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace M3.Server;

/// <summary>
/// The standalone server of <c>m3 serve</c>: Kestrel with the M3 endpoints (<see cref="M3ServiceCollectionExtensions.AddM3"/>,
/// <see cref="M3EndpointRouteBuilderExtensions.MapM3Endpoints"/>), the OpenAPI document at <see cref="OpenApiPath"/>,
/// problem details for unknown paths, and console logging at <see cref="ServerOptions.LogLevel"/>.
/// </summary>
public sealed class M3Server : IAsyncDisposable
{
    /// <summary>Where the OpenAPI document of the endpoints is served.</summary>
    public const string OpenApiPath = "/openapi/v1.json";

    private readonly WebApplication _app;

    private M3Server(WebApplication app)
    {
        _app = app;
        Host = app.Services.GetRequiredService<ModelHost>();
        Metrics = app.Services.GetRequiredService<ServerMetrics>();
    }

    internal ModelHost Host { get; }
    internal IServiceProvider Services => _app.Services;
    internal ServerMetrics Metrics { get; }

    /// <summary>The addresses Kestrel listens on (with the real port when 0 was asked for), once started.</summary>
    public IReadOnlyList<string> Addresses => _app.Urls.ToList();

    /// <summary>Builds the server (not started: see <see cref="StartAsync"/>); the options are checked here.</summary>
    /// <exception cref="ServerOptionsException">An option is out of range, or the model or index folder is missing.</exception>
    public static M3Server Create(ServerOptions options) => Create(options, null);

    /// <param name="options">As for <see cref="Create(ServerOptions)"/>.</param>
    /// <param name="configureServices">Runs before <see cref="M3ServiceCollectionExtensions.AddM3"/>: tests replace its seams there.</param>
    internal static M3Server Create(ServerOptions options, Action<IServiceCollection>? configureServices)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.WebHost.UseUrls(options.Urls);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        configureServices?.Invoke(builder.Services);
        builder.Services.AddM3(options);
        builder.Services.AddOpenApi();
        var app = builder.Build();

        app.Use(async (ctx, next) =>
        {
            try
            {
                await next(ctx);
            }
            catch (Exception e) when (!ctx.Response.HasStarted)
            {
                // What the endpoints' own filter did not see (routing, OpenAPI): logged, never shown.
                app.Logger.LogError(e, "{Method} {Path} failed", ctx.Request.Method, ctx.Request.Path);
                await Json.ProblemAsync(ctx, 500, "internal error; see the server log");
            }
        });
        app.MapOpenApi(OpenApiPath);
        app.MapM3Endpoints();
        app.MapFallback(() => Task.FromException(new ApiError(404, "no such endpoint"))).WithM3Errors(app.Services);
        return new M3Server(app);
    }

    /// <summary>
    /// Waits until the model (and the index, when <see cref="ServerOptions.IndexDirectory"/> is set) has loaded; it loads
    /// in the background from <see cref="Create(ServerOptions)"/> on, and the endpoints answer 503 until then.
    /// </summary>
    /// <exception cref="Exception">Loading failed: the exception it failed with (e.g. <see cref="M3Exception"/> for a
    /// missing or damaged checkpoint); the server then keeps answering 503, so a host usually stops it.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first; loading goes on.</exception>
    public async Task WaitForModelAsync(CancellationToken cancellationToken = default)
    {
        await Host.Loading.WaitAsync(cancellationToken);
        if (Host.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>Starts listening on <see cref="ServerOptions.Urls"/>, while the model may still be loading.</summary>
    /// <exception cref="IOException">An address is in use or cannot be bound.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Runs until the host is stopped (Ctrl+C, SIGTERM); in-flight requests finish first.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Stops listening and lets in-flight requests finish, for at most 30 s or until <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Stops taking work, finishes what is queued, then unloads the model (the container disposes them in that order).</summary>
    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

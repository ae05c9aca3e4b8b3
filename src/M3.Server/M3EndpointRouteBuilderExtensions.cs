using M3.Server.Batching;
using M3.Server.Contracts;
using M3.Server.Endpoints;
using M3.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace M3.Server;

/// <summary>Maps the M3 endpoints into an ASP.NET Core app (after <see cref="M3ServiceCollectionExtensions.AddM3"/>).</summary>
public static class M3EndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps /v1/embeddings, /embed, /score, /tokenize, /search, /health and /metrics (under <paramref name="prefix"/>)
    /// with their limits, API key and problem-details errors; needs <see cref="M3ServiceCollectionExtensions.AddM3"/>.
    /// Starts loading the model; the endpoints answer 503 until it is loaded.
    /// </summary>
    /// <param name="endpoints">The app, or a route group of it.</param>
    /// <param name="prefix">Path prefix of every endpoint, e.g. <c>/m3</c>; empty for none.</param>
    /// <returns>The group of the endpoints, to add conventions (authorization, rate limiting) to.</returns>
    /// <exception cref="InvalidOperationException"><see cref="M3ServiceCollectionExtensions.AddM3"/> was not called.</exception>
    public static RouteGroupBuilder MapM3Endpoints(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<ServerOptions>();
        var metrics = services.GetRequiredService<ServerMetrics>();
        var host = services.GetRequiredService<ModelHost>();
        var scheduler = services.GetRequiredService<EncodeScheduler>();
        var encoder = services.GetRequiredService<RequestEncoder>();
        var logger = services.GetRequiredService<ILogger<M3EndpointFilter>>();
        var modelId = options.ModelId ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(options.ModelDirectory));

        var group = endpoints.MapGroup(prefix);
        var open = group.MapGroup("").AddEndpointFilter(new M3EndpointFilter(options, metrics, logger, requireKey: false));
        open.MapGet("/health", () =>
        {
            if (scheduler.Failure != null) throw new ApiError(503, "the encoder stopped; see the server log");
            if (!host.Ready) throw host.NotReady();
            return EmbeddingEndpoints.Ok(new HealthResponse("ready"));
        }).Produces<HealthResponse>();

        var api = group.MapGroup("").AddEndpointFilter(new M3EndpointFilter(options, metrics, logger, requireKey: true));
        api.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4"));
        EmbeddingEndpoints.Map(api, encoder, host, modelId);
        SearchEndpoints.Map(api, encoder, host);
        return group;
    }

    /// <summary>The filter of the M3 endpoints, for an endpoint of the host app that should answer as they do (the 404 fallback).</summary>
    internal static TBuilder WithM3Errors<TBuilder>(this TBuilder builder, IServiceProvider services) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new M3EndpointFilter(services.GetRequiredService<ServerOptions>(), services.GetRequiredService<ServerMetrics>(),
            services.GetRequiredService<ILogger<M3EndpointFilter>>(), requireKey: false));
}

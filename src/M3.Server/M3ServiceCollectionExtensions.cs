using M3.Server.Batching;
using M3.Server.Contracts;
using M3.Server.Endpoints;
using M3.Server.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace M3.Server;

/// <summary>Registers the services of the M3 endpoints in an ASP.NET Core app's container.</summary>
public static class M3ServiceCollectionExtensions
{
    /// <summary>
    /// Registers what <see cref="M3EndpointRouteBuilderExtensions.MapM3Endpoints"/> serves: the model (loaded in the
    /// background once the endpoints are mapped), one batching scheduler and the metrics.
    /// </summary>
    /// <param name="services">The app's service collection.</param>
    /// <param name="options">The model, limits and API key; checked here.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ServerOptionsException">An option is out of range, or the model or index folder is missing.</exception>
    public static IServiceCollection AddM3(this IServiceCollection services, ServerOptions options)
    {
        ServerOptionsValidation.Validate(options);
        services.AddSingleton(options);
        services.AddSingleton<ServerMetrics>();
        services.TryAddSingleton<EncoderLoader>(ModelHost.LoadEncoder);
        services.AddSingleton(sp => new ModelHost(options, sp.GetRequiredService<EncoderLoader>(), sp.GetService<ILogger<ModelHost>>()));
        services.TryAddSingleton<PassEncoder>(sp =>
        {
            var host = sp.GetRequiredService<ModelHost>();
            return (tokenized, o) => host.Encoder.EncodeTokenized(tokenized, o);
        });
        services.AddSingleton(sp => new EncodeScheduler(sp.GetRequiredService<PassEncoder>(), options.QueueCapacity,
            sp.GetRequiredService<ServerMetrics>(), sp.GetService<ILogger<EncodeScheduler>>()));
        services.AddSingleton(sp => new RequestEncoder(options, sp.GetRequiredService<ModelHost>(), sp.GetRequiredService<EncodeScheduler>()));
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServerJsonContext.Default));
        return services;
    }
}

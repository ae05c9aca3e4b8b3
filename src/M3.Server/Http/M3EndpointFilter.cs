using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace M3.Server.Http;

/// <summary>
/// Wraps every M3 endpoint, so that they behave the same inside any ASP.NET Core app: the body size limit, the API key,
/// errors mapped to problem details in one place (5xx logged with their exception, never shown), and the request metrics.
/// </summary>
internal sealed class M3EndpointFilter(ServerOptions options, ServerMetrics metrics, ILogger<M3EndpointFilter> logger, bool requireKey) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var ctx = context.HttpContext;
        long started = Stopwatch.GetTimestamp();
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = options.MaxRequestBodyBytes;
        try
        {
            if (requireKey && options.ApiKey is { } key && !KeyMatches(ctx.Request.Headers.Authorization.ToString(), key))
                throw new ApiError(401, "missing or wrong API key: send 'Authorization: Bearer <key>'");
            // Run the result here, so that its status is known when the metrics are recorded below.
            if (await next(context) is IResult result) await result.ExecuteAsync(ctx);
        }
        catch (ApiError e)
        {
            await Json.ProblemAsync(ctx, e.Status, e.Message);
        }
        catch (BadHttpRequestException e)
        {
            await Json.ProblemAsync(ctx, e.StatusCode, e.StatusCode == 413 ? $"the request body is larger than {options.MaxRequestBodyBytes} bytes" : "malformed request");
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            logger.LogDebug("{Method} {Path}: the client went away", ctx.Request.Method, ctx.Request.Path);
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            // Never leak stack traces or paths to the client: the details go to the log.
            logger.LogError(e, "{Method} {Path} failed", ctx.Request.Method, ctx.Request.Path);
            await Json.ProblemAsync(ctx, 500, "internal error; see the server log");
        }
        finally
        {
            metrics.RecordRequest(ctx.GetEndpoint()?.DisplayName is { } n ? n.Split(' ').Last() : "unmatched",
                ctx.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        return Results.Empty;
    }

    private static bool KeyMatches(string header, string key) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes("Bearer " + key));
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.OpenApi;

namespace M3.Server.Endpoints;

/// <summary>
/// Describes an endpoint's JSON request body in the OpenAPI document. Not <c>Accepts&lt;T&gt;</c>: that also makes routing
/// match only requests sent as application/json, and the handlers read the body as JSON whatever its Content-Type says,
/// so <c>curl -d '{...}'</c> (sent as a form) is served instead of falling through to 404 or 415.
/// </summary>
internal static class JsonBodyDocumentation
{
    public static RouteHandlerBuilder DocumentsJsonBody<T>(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var document = context.Document ?? throw new InvalidOperationException("the OpenAPI document is not being built");
            document.AddComponent(typeof(T).Name, await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken));
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = new OpenApiSchemaReference(typeof(T).Name, document) },
                },
            };
        });
}

using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using M3.Server.Contracts;

namespace M3.Server.Http;

/// <summary>The server's JSON options: the source-generated contracts, non-ASCII text written as is (as the CLI writes it).</summary>
internal static class ServerJson
{
    public static JsonSerializerOptions Options { get; } =
        new(ServerJsonContext.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonTypeInfo<T> Info<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));
}

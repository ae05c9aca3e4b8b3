using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Embeddings;
using static M3.Server.Tests.ServerTests;

namespace M3.Server.Tests;

/// <summary>
/// The official OpenAI .NET client, and Microsoft.Extensions.AI's IEmbeddingGenerator over it, pointed at a real server
/// on loopback: the vectors they return are M3Encoder's, and the server's errors surface as the client's exceptions.
/// </summary>
public sealed class OpenAIClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] Texts = ["Hello world", "Привет, мир", "一个模型同时给出稠密、稀疏和多向量表示。", "ok"];

    private static EmbeddingClient Client(M3Server server, string key = "k") =>
        new("bge-m3", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.Addresses[0] + "/v1"), RetryPolicy = new ClientRetryPolicy(0) });

    [Fact]
    public async Task The_OpenAI_client_gets_the_encoders_vectors_in_base64_and_float()
    {
        var (server, _) = await fixture.StartAsync(o => o with { ApiKey = "k" });
        await using var __ = server;
        var expected = fixture.Encoder.Encode(Texts);
        var client = Client(server);

        // The client's own convenience method asks for base64 and decodes it.
        OpenAIEmbeddingCollection base64 = await client.GenerateEmbeddingsAsync(Texts);
        for (int i = 0; i < Texts.Length; i++) Close(expected[i].Dense, base64[i].ToFloats().Span);
        Assert.Equal(expected.Sum(e => e.TokenCount), base64.Usage.InputTokenCount);

        // Float format through the protocol method, read back by the client's own model reader.
        var raw = await client.GenerateEmbeddingsAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(new { input = Texts, model = "bge-m3", encoding_format = "float" })));
        var floats = ModelReaderWriter.Read<OpenAIEmbeddingCollection>(raw.GetRawResponse().Content)!;
        for (int i = 0; i < Texts.Length; i++) Close(expected[i].Dense, floats[i].ToFloats().Span);
    }

    [Fact]
    public async Task Server_errors_surface_as_the_clients_exceptions()
    {
        var (server, _) = await fixture.StartAsync(o => o with { ApiKey = "k" });
        await using var __ = server;
        var badDimensions = await Assert.ThrowsAsync<ClientResultException>(() =>
            Client(server).GenerateEmbeddingsAsync(["x"], new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = 7 }));
        Assert.Equal(400, badDimensions.Status);
        Assert.Contains("\"dimensions\" 7 is not supported", badDimensions.Message);
        var wrongKey = await Assert.ThrowsAsync<ClientResultException>(() => Client(server, "wrong").GenerateEmbeddingsAsync(["x"]));
        Assert.Equal(401, wrongKey.Status);
    }

    [Fact]
    public async Task The_Microsoft_Extensions_AI_generator_over_the_client_gets_the_encoders_vectors()
    {
        var (server, _) = await fixture.StartAsync(o => o with { ApiKey = "k" });
        await using var __ = server;
        IEmbeddingGenerator<string, Embedding<float>> generator = Client(server).AsIEmbeddingGenerator();
        var expected = fixture.Encoder.Encode(Texts);
        var embeddings = await generator.GenerateAsync(Texts);
        Assert.Equal(Texts.Length, embeddings.Count);
        for (int i = 0; i < Texts.Length; i++) Close(expected[i].Dense, embeddings[i].Vector.Span);
        var failure = await Assert.ThrowsAsync<ClientResultException>(() => generator.GenerateAsync(["x"], new Microsoft.Extensions.AI.EmbeddingGenerationOptions { Dimensions = 7 }));
        Assert.Equal(400, failure.Status);
    }
}

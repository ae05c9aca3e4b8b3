using System.Diagnostics;
using System.Text.Json;
using static M3.Server.Tests.ServerTests;

namespace M3.Server.Tests;

/// <summary>Runs only where Node.js and npm are installed (CI installs them): the tests that drive the openai npm client.</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (!OnPath("node") || !OnPath("npm")) Skip = "Node.js and npm are not installed";
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, tool)));
}

/// <summary>The <c>openai</c> npm client (the one most JavaScript apps use) against a real server on loopback.</summary>
public sealed class NodeClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] Texts = ["Hello world", "Привет, мир", "一个模型同时给出稠密、稀疏和多向量表示。"];

    private static string ClientFolder => Path.Combine(M3.Tests.TestPaths.RepoRoot, "tests", "M3.Server.Tests", "node");

    private static async Task<string> RunAsync(string file, string arguments, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file, arguments) { WorkingDirectory = ClientFolder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in environment ?? []) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {arguments} exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    [NodeFact]
    public async Task The_openai_npm_client_gets_the_encoders_vectors_in_float_and_base64()
    {
        // The lock file pins the client; CI installs it ahead (.ci/run), a developer's first run installs it here.
        if (!Directory.Exists(Path.Combine(ClientFolder, "node_modules", "openai"))) await RunAsync("npm", "ci --no-audit --no-fund");
        var (server, _) = await fixture.StartAsync(o => o with { ApiKey = "k" });
        await using var __ = server;
        var output = await RunAsync("node", $"client.mjs {server.Addresses[0]}/v1 k", new() { ["M3_TEXTS"] = JsonSerializer.Serialize(Texts) });
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        var expected = fixture.Encoder.Encode(Texts);
        foreach (var format in new[] { "float", "base64" })
        {
            var vectors = root.GetProperty(format).EnumerateArray().ToList();
            Assert.Equal(Texts.Length, vectors.Count);
            for (int i = 0; i < Texts.Length; i++)
                Close(expected[i].Dense, vectors[i].EnumerateArray().Select(x => x.GetSingle()).ToArray());
        }
        Assert.Equal("bge-m3", root.GetProperty("model").GetString());
        Assert.Equal(expected.Sum(e => e.TokenCount), root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(400, root.GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("BadRequestError", root.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("\"dimensions\" 7 is not supported", root.GetProperty("error").GetProperty("message").GetString());
    }
}

using System.CommandLine;
using M3.Cli.Infrastructure;
using M3.Core.Inference;
using M3.Server;
using Microsoft.Extensions.Logging;

namespace M3.Cli.Commands;

/// <summary><c>m3 serve</c>: the HTTP server (OpenAI-compatible embeddings, /embed, /score, /search, /tokenize, /health, /metrics).</summary>
internal static class ServeCommand
{
    // The server's own defaults, so the command line and library users start from the same limits.
    private static readonly ServerOptions Defaults = new() { ModelDirectory = "" };

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder or hub id (owner/name[@revision])", Required = true };
        var index = new Option<string?>("--index") { Description = "Index folder to serve /search from" };
        var urls = new Option<string>("--urls") { Description = "Addresses to listen on", DefaultValueFactory = _ => Defaults.Urls };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' (default: $M3_API_KEY, else no key)" };
        var maxInputs = new Option<int>("--max-inputs") { Description = "Inputs per request", DefaultValueFactory = _ => Defaults.MaxInputsPerRequest };
        var maxChars = new Option<int>("--max-chars") { Description = "Characters per input (longer: 413)", DefaultValueFactory = _ => Defaults.MaxCharactersPerInput };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per input", DefaultValueFactory = _ => Defaults.MaxTokensPerInput };
        var maxRequestTokens = new Option<int>("--max-request-tokens") { Description = "Tokens to encode per request, all inputs together (more: 413)", DefaultValueFactory = _ => Defaults.MaxTokensPerRequest };
        var reject = new Option<bool>("--reject-long") { Description = "Answer 413 for inputs over --max-tokens instead of truncating them" };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Request body size limit (larger: 413 before parsing)", DefaultValueFactory = _ => Defaults.MaxRequestBodyBytes };
        var queue = new Option<int>("--queue") { Description = "Texts waiting to be encoded before requests get 429", DefaultValueFactory = _ => Defaults.QueueCapacity };
        var batchTokens = new Option<int>("--max-batch-tokens") { Description = "Padded tokens per forward pass", DefaultValueFactory = _ => Defaults.MaxBatchTokens };
        var batchSize = new Option<int>("--max-batch-size") { Description = "Texts per forward pass", DefaultValueFactory = _ => Defaults.MaxBatchSize };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Least severe log messages written to stderr (Trace, Debug, Information, Warning, Error, Critical, None)", DefaultValueFactory = _ => Defaults.LogLevel };
        var precision = new PrecisionOption();
        var command = new Command("serve", "Run the HTTP server") { model, index, urls, apiKey, maxInputs, maxChars, maxTokens, maxRequestTokens, reject, maxBody, queue, batchTokens, batchSize, logLevel, precision.Option };
        command.SetAction((pr, ct) => CommandRunner.RunAsync(async ct =>
        {
            var options = new ServerOptions
            {
                ModelDirectory = ModelLocator.Resolve(pr.GetValue(model)!, ct),
                ModelId = pr.GetValue(model),
                IndexDirectory = pr.GetValue(index),
                Urls = pr.GetValue(urls)!,
                ApiKey = pr.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("M3_API_KEY"),
                MaxInputsPerRequest = pr.GetValue(maxInputs),
                MaxCharactersPerInput = pr.GetValue(maxChars),
                MaxTokensPerInput = pr.GetValue(maxTokens),
                MaxTokensPerRequest = pr.GetValue(maxRequestTokens),
                TruncateLongInputs = !pr.GetValue(reject),
                MaxRequestBodyBytes = pr.GetValue(maxBody),
                QueueCapacity = pr.GetValue(queue),
                MaxBatchTokens = pr.GetValue(batchTokens),
                MaxBatchSize = pr.GetValue(batchSize),
                LogLevel = pr.GetValue(logLevel),
                Encoder = new M3LoadOptions { Precision = precision.GetValue(pr) },
            };
            M3Server server;
            try
            {
                server = M3Server.Create(options);
            }
            catch (ServerOptionsException e)
            {
                throw new CliError($"m3 serve: cannot start:{Environment.NewLine}{e.Message}", 2);
            }
            await using var _ = server;
            await server.StartAsync(CancellationToken.None);
            Console.Error.WriteLine($"m3 serve: listening on {string.Join(", ", server.Addresses)}; loading {options.ModelDirectory}");
            try
            {
                await server.WaitForModelAsync(CancellationToken.None);
            }
            catch (Exception f)
            {
                // Serving 503 forever helps no one: exit, so that a supervisor sees the failure and the log says why.
                Console.Error.WriteLine($"m3 serve: the model failed to load: {f.Message}");
                await server.StopAsync(CancellationToken.None);
                return 1;
            }
            Console.Error.WriteLine("m3 serve: ready");
            await server.WaitForShutdownAsync();
            return 0;
        }, ct));
        return command;
    }
}

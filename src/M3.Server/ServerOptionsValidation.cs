using M3.Core.Checkpoint;

namespace M3.Server;

/// <summary>A <see cref="ServerOptions"/> the server cannot run with; the message lists every problem and what to do.</summary>
public sealed class ServerOptionsException(string message) : ArgumentException(message);

internal static class ServerOptionsValidation
{
    /// <summary>
    /// Checks the options before the server starts, reading the model's config.json for its longest input, so a bad
    /// option stops the start instead of failing requests later.
    /// </summary>
    public static void Validate(ServerOptions o)
    {
        var problems = new List<string>();
        void AtLeast(long value, long min, string name)
        {
            if (value < min) problems.Add($"{name} is {value}; it must be at least {min}");
        }
        AtLeast(o.MaxInputsPerRequest, 1, "--max-inputs");
        AtLeast(o.MaxCharactersPerInput, 1, "--max-chars");
        AtLeast(o.MaxTokensPerInput, 2, "--max-tokens (<s> and </s> included)");
        AtLeast(o.MaxRequestBodyBytes, 1, "--max-body-bytes");
        AtLeast(o.QueueCapacity, 1, "--queue");
        AtLeast(o.MaxBatchTokens, 1, "--max-batch-tokens");
        AtLeast(o.MaxBatchSize, 1, "--max-batch-size");
        if (o.MaxTokensPerRequest < o.MaxTokensPerInput)
            problems.Add($"--max-request-tokens {o.MaxTokensPerRequest} is below --max-tokens {o.MaxTokensPerInput}: one input of the allowed length would be refused; raise it or lower --max-tokens");
        if (!Directory.Exists(o.ModelDirectory))
            problems.Add($"model folder '{o.ModelDirectory}' does not exist (expected a BGE-M3 checkpoint folder)");
        else
        {
            try
            {
                var config = M3Config.Load(o.ModelDirectory);
                int modelMax = config.MaxPositionEmbeddings - config.PadTokenId - 1;
                if (o.MaxTokensPerInput > modelMax)
                    problems.Add($"--max-tokens {o.MaxTokensPerInput} is above the model's maximum of {modelMax} tokens (max_position_embeddings in config.json); use at most {modelMax}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointException or InvalidDataException or System.Text.Json.JsonException)
            {
                problems.Add(e.Message);
            }
        }
        if (o.IndexDirectory != null && !Directory.Exists(o.IndexDirectory))
            problems.Add($"index folder '{o.IndexDirectory}' does not exist; create it with 'm3 index add --index {o.IndexDirectory} ...' or leave out --index");
        if (problems.Count > 0) throw new ServerOptionsException(string.Join(Environment.NewLine, problems));
    }
}

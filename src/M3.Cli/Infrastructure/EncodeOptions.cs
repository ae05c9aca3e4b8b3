using M3.Core.Encoding;

namespace M3.Cli.Infrastructure;

/// <summary>Validates the encoding options that several commands share and turns them into <see cref="M3EncodeOptions"/>.</summary>
public static class EncodeOptions
{
    public static M3EncodeOptions Create(M3Outputs outputs, int maxLength, int batchSize, bool mcls = false)
    {
        if (maxLength < 2) throw new CliError($"--max-length must be at least 2 (room for <s> and </s>), got {maxLength}");
        if (batchSize < 1) throw new CliError($"--batch-size must be at least 1, got {batchSize}");
        return new M3EncodeOptions { Outputs = outputs, MaxLength = maxLength, BatchSize = batchSize, Mcls = mcls };
    }
}

using M3.Core.Inference;
using M3.Tokenization;

namespace M3.Cli.Infrastructure;

/// <summary>Validates the encoding options that several commands share and turns them into <see cref="M3EncodeOptions"/>.</summary>
internal static class EncodeArguments
{
    public static M3EncodeOptions Create(M3Outputs outputs, int maxLength, int batchSize, bool mcls = false)
    {
        if (maxLength is < 2 or > XlmRobertaTokenizer.DefaultMaxLength)
            throw new CliError($"--max-length must be between 2 (room for <s> and </s>) and BGE-M3's {XlmRobertaTokenizer.DefaultMaxLength}, got {maxLength}");
        if (batchSize < 1) throw new CliError($"--batch-size must be at least 1, got {batchSize}");
        return new M3EncodeOptions { Outputs = outputs, MaxLength = maxLength, BatchSize = batchSize, Mcls = mcls };
    }
}

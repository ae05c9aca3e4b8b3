using System.CommandLine;
using M3.Core.Inference;

namespace M3.Cli.Infrastructure;

/// <summary>
/// <c>--precision fp32|int8</c>, the same on every command that encodes: fp32 matches the reference within float32 rounding;
/// int8 quantizes the encoder's weights per output channel and its activations on the fly (several times faster on CPUs with
/// VNNI, dense cosine to fp32 above 0.99).
/// </summary>
internal sealed class PrecisionOption
{
    public const string Fp32 = "fp32", Int8 = "int8";

    public PrecisionOption()
    {
        Option = new Option<string>("--precision")
        {
            Description = "Encoder precision: fp32 (exact, default) or int8 (faster on CPUs, dense cosine to fp32 above 0.99)",
            DefaultValueFactory = _ => Fp32,
        };
        Option.AcceptOnlyFromAmong(Fp32, Int8);
    }

    public Option<string> Option { get; }

    public M3Precision GetValue(ParseResult result) => Parse(result.GetValue(Option) ?? Fp32);

    public static M3Precision Parse(string value) => value switch
    {
        Fp32 => M3Precision.Fp32,
        Int8 => M3Precision.Int8,
        _ => throw new CliError($"--precision must be {Fp32} or {Int8}, got '{value}'"),
    };
}

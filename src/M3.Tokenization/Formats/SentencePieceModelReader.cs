using System.Text;
using M3.Tokenization.Normalization;
using M3.Tokenization.Pipeline;

namespace M3.Tokenization.Formats;

/// <summary>
/// Reads XLM-RoBERTa's sentencepiece.bpe.model (a SentencePiece ModelProto) and builds the pipeline Hugging Face's
/// XLMRobertaConverter produced for BGE-M3's tokenizer.json: fairseq ids (&lt;s&gt;=0, &lt;pad&gt;=1, &lt;/s&gt;=2,
/// &lt;unk&gt;=3, SentencePiece id k≥3 → k+1, &lt;mask&gt; last), Precompiled + Replace(" {2,}" → " ") normalizers.
/// </summary>
internal static class SentencePieceModelReader
{
    // ModelProto / SentencePiece / TrainerSpec / NormalizerSpec field numbers (sentencepiece_model.proto).
    private const int ModelPieces = 1, ModelTrainerSpec = 2, ModelNormalizerSpec = 3;
    private const int PieceText = 1, PieceScore = 2, PieceType = 3;
    private const int TrainerModelType = 3, NormalizerCharsMap = 2;
    private const int UnigramModelType = 1, UnknownPieceType = 2, ControlPieceType = 3;

    public static TokenizerDefinition Read(string path)
    {
        if (!File.Exists(path)) throw new TokenizerException($"tokenizer file '{path}' does not exist; expected a checkpoint folder's tokenizer file");
        var data = File.ReadAllBytes(path);
        var spmPieces = new List<(string Text, float Score, int Type)>();
        byte[]? charsMap = null;
        bool hasTrainerSpec = false, hasNormalizerSpec = false;
        var reader = new ProtoReader(data, path);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (field == ModelPieces && wire == 2) spmPieces.Add(ReadPiece(reader.ReadBytes(), path));
            else if (field == ModelTrainerSpec && wire == 2)
            {
                CheckTrainerSpec(reader.ReadBytes(), path);
                hasTrainerSpec = true;
            }
            else if (field == ModelNormalizerSpec && wire == 2)
            {
                charsMap = ReadCharsMap(reader.ReadBytes(), path);
                hasNormalizerSpec = true;
            }
            else reader.Skip(wire);
        }
        // SentencePiece always writes both specs after the pieces: without them the file was cut short.
        if (!hasTrainerSpec || !hasNormalizerSpec)
            throw new TokenizerException($"{path}: no trainer_spec or normalizer_spec (file truncated?); expected a complete SentencePiece ModelProto");
        CheckXlmRobertaLayout(spmPieces, path);

        // fairseq's dictionary puts <s>, <pad>, </s>, <unk> first, shifting SentencePiece's own pieces by one.
        int count = spmPieces.Count + 2;
        var pieces = new string[count];
        var scores = new double[count];
        (pieces[0], pieces[1], pieces[2], pieces[3]) = ("<s>", "<pad>", "</s>", "<unk>");
        for (int k = 3; k < spmPieces.Count; k++)
        {
            pieces[k + 1] = spmPieces[k].Text;
            scores[k + 1] = spmPieces[k].Score;
        }
        int maskId = count - 1;
        pieces[maskId] = "<mask>";
        var added = new List<AddedToken>
        {
            new("<s>", 0, false, false, true), new("<pad>", 1, false, false, true), new("</s>", 2, false, false, true),
            new("<unk>", 3, false, false, true), new("<mask>", maskId, true, false, true),
        };
        var normalizer = charsMap is { Length: > 0 } ? PrecompiledCharsMap.Parse(charsMap, path) : null;
        return new TokenizerDefinition(path, pieces, scores, 3, normalizer, " ", added, 0, 2);
    }

    private static (string Text, float Score, int Type) ReadPiece(ReadOnlySpan<byte> message, string path)
    {
        var reader = new ProtoReader(message, path);
        string? text = null;
        float score = 0;
        int type = 1;
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (field == PieceText && wire == 2) text = DecodeUtf8(reader.ReadBytes(), path);
            else if (field == PieceScore && wire == 5) score = reader.ReadFloat();
            else if (field == PieceType && wire == 0) type = (int)reader.ReadVarint();
            else reader.Skip(wire);
        }
        if (string.IsNullOrEmpty(text)) throw new TokenizerException($"{path}: a SentencePiece piece has no text; expected a SentencePiece ModelProto");
        return (text, score, type);
    }

    private static string DecodeUtf8(ReadOnlySpan<byte> bytes, string path)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new TokenizerException($"{path}: a piece is not valid UTF-8; expected a SentencePiece ModelProto");
        }
    }

    private static void CheckTrainerSpec(ReadOnlySpan<byte> message, string path)
    {
        var reader = new ProtoReader(message, path);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (field == TrainerModelType && wire == 0)
            {
                ulong type = reader.ReadVarint();
                if (type != UnigramModelType)
                    throw new TokenizerException($"{path}: SentencePiece model_type {type} is not supported; expected a Unigram model (type 1) as XLM-RoBERTa uses");
            }
            else reader.Skip(wire);
        }
    }

    private static byte[]? ReadCharsMap(ReadOnlySpan<byte> message, string path)
    {
        var reader = new ProtoReader(message, path);
        byte[]? charsMap = null;
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (field == NormalizerCharsMap && wire == 2) charsMap = reader.ReadBytes().ToArray();
            else reader.Skip(wire);
        }
        return charsMap;
    }

    /// <summary>The fairseq mapping assumes SentencePiece's default layout: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt; as ids 0–2.</summary>
    private static void CheckXlmRobertaLayout(List<(string Text, float Score, int Type)> pieces, string path)
    {
        if (pieces.Count < 4)
            throw new TokenizerException($"{path}: {pieces.Count} pieces; expected a SentencePiece ModelProto with a vocabulary");
        if (pieces[0].Type != UnknownPieceType || pieces[1].Type != ControlPieceType || pieces[2].Type != ControlPieceType)
            throw new TokenizerException($"{path}: pieces 0-2 are '{pieces[0].Text}', '{pieces[1].Text}', '{pieces[2].Text}'; expected <unk>, <s>, </s> as in XLM-RoBERTa's model");
    }
}

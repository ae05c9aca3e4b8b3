using M3.Core.Checkpoint;
using M3.Core.Onnx;
using M3.Core.Representations;
using M3.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace M3.Core.Inference;

/// <summary>
/// BGE-M3 on ONNX Runtime: a checkpoint folder in, dense, sparse and ColBERT representations out.
/// Thread-safe: concurrent <see cref="Encode"/> calls share one inference session.
/// </summary>
public sealed class M3Encoder : IDisposable
{
    private readonly InferenceSession _session;

    private M3Encoder(string directory, M3Config config, XlmRobertaTokenizer tokenizer, InferenceSession session, M3LoadOptions options, string contentKey)
    {
        ModelDirectory = directory;
        ContentKey = contentKey;
        Config = config;
        Tokenizer = tokenizer;
        Options = options;
        _session = session;
    }

    /// <summary>Loads a BGE-M3 checkpoint folder (config.json, weights, heads, tokenizer), building or reusing the cached ONNX graph.</summary>
    /// <param name="modelDirectory">A folder in BAAI/bge-m3's layout (for a hub id, resolve it first with M3.Hub).</param>
    /// <param name="options">Precision, threads and graph cache; null for <see cref="M3LoadOptions.Default"/>.</param>
    /// <exception cref="EncoderException">The folder does not exist, or ONNX Runtime cannot load the built graph.</exception>
    /// <exception cref="CheckpointException">A checkpoint file is missing, malformed or does not match the config; the message names it.</exception>
    /// <exception cref="M3.Tokenization.TokenizerException">The tokenizer files are missing or malformed.</exception>
    public static M3Encoder Load(string modelDirectory, M3LoadOptions? options = null) => Load(modelDirectory, options, nativeOps: true);

    /// <param name="nativeOps">
    /// Whether the int8 mode may take attention's products into int8 too, through M3Sharp's native operator
    /// (<see cref="NativeOps"/>); it does where the operator runs. The public overload allows it.
    /// </param>
    internal static M3Encoder Load(string modelDirectory, M3LoadOptions? options, bool nativeOps)
    {
        options ??= M3LoadOptions.Default;
        if (!Directory.Exists(modelDirectory))
            throw new EncoderException($"model folder '{modelDirectory}' does not exist; expected a BGE-M3 checkpoint folder (config.json, tokenizer and weights)");
        var tokenizer = XlmRobertaTokenizer.Load(modelDirectory);
        M3Config config;
        string modelPath, contentKey;
        // Only int8 looks for the library, so an fp32 load never loads it.
        var int8Attention = options.Precision == M3Precision.Int8 && nativeOps && NativeOps.LibraryPath != null;
        using (var checkpoint = M3Checkpoint.Open(modelDirectory))
        {
            config = checkpoint.Config;
            contentKey = GraphCache.ContentKey(checkpoint, options.CacheDirectory);
            if (tokenizer.VocabularySize > config.VocabSize)
                throw new CheckpointException(Path.Combine(modelDirectory, M3Config.FileName), null,
                    $"vocab_size {config.VocabSize} is smaller than the tokenizer's {tokenizer.VocabularySize} tokens; the tokenizer files belong to another model");
            modelPath = GraphCache.GetOrBuild(checkpoint, options.CacheDirectory, GraphVariant(options.Precision, int8Attention),
                (ck, model, data) => M3Graph.Build(ck, model, data, options.Precision, int8Attention), options.Log ?? Console.Error.WriteLine);
        }
        return new M3Encoder(Path.GetFullPath(modelDirectory), config, tokenizer, OpenSession(modelPath, options.Threads, int8Attention), options, contentKey);
    }

    private static string GraphVariant(M3Precision precision, bool int8Attention) =>
        precision.ToString().ToLowerInvariant() + (int8Attention ? "-attention8" : "");

    private static InferenceSession OpenSession(string modelPath, int threads, bool nativeOps)
    {
        // The session copies what it needs from its options, so they are released once it exists.
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (threads > 0) sessionOptions.IntraOpNumThreads = threads;
        try
        {
            return nativeOps ? NativeOps.CreateSession(modelPath, sessionOptions) : new InferenceSession(modelPath, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new EncoderException(
                $"ONNX Runtime cannot load the built graph '{modelPath}' ({e.Message}); delete the folder '{Path.GetDirectoryName(modelPath)}' so it is built again", e);
        }
    }

    /// <summary>The checkpoint folder, as a full path.</summary>
    public string ModelDirectory { get; }

    /// <summary>SHA-256 over the checkpoint's files (memoized in the graph cache): identifies the model, e.g. in an index's manifest.</summary>
    public string ContentKey { get; }

    /// <summary>The checkpoint's config.json.</summary>
    internal M3Config Config { get; }

    /// <summary>The options the encoder was loaded with.</summary>
    public M3LoadOptions Options { get; }

    /// <summary>The checkpoint's tokenizer, which <see cref="Encode"/> applies to texts.</summary>
    public XlmRobertaTokenizer Tokenizer { get; }

    /// <summary>Hidden size of the model, the dimension of dense and ColBERT vectors.</summary>
    public int HiddenSize => Config.HiddenSize;

    /// <summary>Encodes texts; results are in input order and do not depend on how the texts were batched.</summary>
    /// <param name="texts">The texts; longer ones are truncated to <see cref="M3EncodeOptions.MaxLength"/> tokens.</param>
    /// <param name="options">What to compute and how to batch; null for <see cref="M3EncodeOptions.Default"/>.</param>
    /// <param name="progress">Told the number of texts of each finished forward pass.</param>
    /// <param name="cancellationToken">
    /// Stops the work between forward passes and inside one (ONNX Runtime's terminate flag), with an
    /// <see cref="OperationCanceledException"/>.
    /// </param>
    /// <returns>One embedding per text, in input order, with the representations <see cref="M3EncodeOptions.Outputs"/> asks for.</returns>
    /// <exception cref="ArgumentException">A text is null, or an option is out of range (batch size, token budget, max length below 2).</exception>
    /// <exception cref="EncoderException">ONNX Runtime failed on a forward pass (e.g. out of memory: lower the batch size or token budget).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<M3Embedding> Encode(IReadOnlyList<string> texts, M3EncodeOptions? options = null, IProgress<int>? progress = null,
                                             CancellationToken cancellationToken = default)
    {
        options ??= M3EncodeOptions.Default;
        for (int i = 0; i < texts.Count; i++)
            if (texts[i] is null) throw new ArgumentException($"text {i} is null");
        return EncodeTokenized(texts.Select(t => Tokenize(t, options)).ToList(), options, progress, cancellationToken);
    }

    /// <summary>
    /// A text's ids (<c>&lt;s&gt;</c> … <c>&lt;/s&gt;</c>) as <see cref="EncodeTokenized"/> takes them: truncated to
    /// MaxLength, or whole with MCLS, which decides itself what fits. Lets a caller (the server) tokenize once, check
    /// limits on the ids and carry them to the encoder.
    /// </summary>
    internal int[] Tokenize(string text, M3EncodeOptions options) =>
        Tokenizer.EncodeToIds(text, options.Mcls ? int.MaxValue : options.MaxLength);

    /// <summary>Tokens a tokenized text of this length is encoded with (its first MaxLength without MCLS).</summary>
    internal static int EncodedLength(int tokenizedLength, M3EncodeOptions options) => Math.Min(tokenizedLength, options.MaxLength);

    /// <summary>Encodes texts tokenized by <see cref="Tokenize"/> under the same options.</summary>
    internal IReadOnlyList<M3Embedding> EncodeTokenized(IReadOnlyList<int[]> tokenized, M3EncodeOptions options, IProgress<int>? progress = null,
                                                       CancellationToken cancellationToken = default)
    {
        if (!options.Mcls) return EncodeIds(tokenized.Select(t => Truncate(t, options.MaxLength)).ToList(), options, progress, cancellationToken);

        // MCLS changes only the dense vector; sparse and ColBERT come from the plain sequence, so run both.
        var mclsIds = tokenized.Select(t => Mcls.Build(t.AsSpan(1, t.Length - 2), options.MclsInterval, options.MaxLength)).ToList();
        var dense = EncodeIds(mclsIds, options with { Outputs = M3Outputs.Dense }, progress, cancellationToken);
        var rest = options.Outputs & ~M3Outputs.Dense;
        if (rest == 0) return dense;
        var other = EncodeIds(tokenized.Select(t => Truncate(t, options.MaxLength)).ToList(), options with { Outputs = rest, Mcls = false }, null, cancellationToken);
        return dense.Select((d, i) => other[i] with { Dense = (options.Outputs & M3Outputs.Dense) != 0 ? d.Dense : null }).ToList();
    }

    /// <summary>The first maxLength−1 ids and the closing <c>&lt;/s&gt;</c>, as the tokenizer truncates (it keeps a prefix).</summary>
    private static int[] Truncate(int[] ids, int maxLength)
    {
        if (ids.Length <= maxLength) return ids;
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "max length must leave room for <s> and </s> (at least 2)");
        var cut = ids[..maxLength];
        cut[^1] = ids[^1];
        return cut;
    }

    /// <summary>
    /// Encodes token id sequences that already hold <c>&lt;s&gt;</c> … <c>&lt;/s&gt;</c> (no truncation is applied).
    /// With <see cref="M3EncodeOptions.Mcls"/>, dense is the mean over every <c>&lt;s&gt;</c> position.
    /// Progress and cancellation as in <see cref="Encode"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A sequence is null, shorter than 2 ids or longer than the model's positions.</exception>
    /// <exception cref="EncoderException">ONNX Runtime failed on a forward pass.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<M3Embedding> EncodeIds(IReadOnlyList<int[]> sequences, M3EncodeOptions? options = null, IProgress<int>? progress = null,
                                                CancellationToken cancellationToken = default)
    {
        options ??= M3EncodeOptions.Default;
        var results = new M3Embedding[sequences.Count];
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i] ?? throw new ArgumentException($"sequence {i} is null");
            if (s.Length < 2) throw new ArgumentException($"sequence {i} has {s.Length} tokens; expected at least <s> and </s>");
            if (s.Length > Config.MaxPositionEmbeddings - Config.PadTokenId - 1)
                throw new ArgumentException($"sequence {i} has {s.Length} tokens; the model takes at most {Config.MaxPositionEmbeddings - Config.PadTokenId - 1}");
        }
        foreach (var batch in BatchPlan.Create(sequences.Select(s => s.Length).ToArray(), options).Batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RunBatch(sequences, batch, options, results, cancellationToken);
            progress?.Report(batch.Length);
        }
        return results;
    }

    private void RunBatch(IReadOnlyList<int[]> sequences, int[] batch, M3EncodeOptions options, M3Embedding[] results, CancellationToken cancellationToken)
    {
        var (ids, mask, t) = BatchPlan.Pad(sequences, batch, Config.PadTokenId);
        int b = batch.Length, h = HiddenSize;

        bool wantDense = (options.Outputs & M3Outputs.Dense) != 0;
        bool wantSparse = (options.Outputs & M3Outputs.Sparse) != 0;
        bool wantColbert = (options.Outputs & M3Outputs.Colbert) != 0;
        var outputNames = new List<string> { M3Graph.Hidden };
        if (wantSparse) outputNames.Add(M3Graph.Sparse);
        if (wantColbert) outputNames.Add(M3Graph.Colbert);

        long[] shape = [b, t];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var outputs = Run([idsValue, maskValue], outputNames, b, t, cancellationToken);

        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        var sparse = wantSparse ? outputs[1].GetTensorDataAsSpan<float>() : default;
        var colbert = wantColbert ? outputs[outputNames.Count - 1].GetTensorDataAsSpan<float>() : default;
        for (int r = 0; r < b; r++)
        {
            var s = sequences[batch[r]];
            results[batch[r]] = new M3Embedding(
                wantDense ? OutputHeads.Dense(hidden.Slice(r * t * h, t * h), s, h, options.Mcls) : null,
                wantSparse ? OutputHeads.Sparse(sparse.Slice(r * t, t), s) : null,
                wantColbert ? OutputHeads.Colbert(colbert.Slice(r * (t - 1) * h, (t - 1) * h), s.Length, h) : null,
                s.Length);
        }
    }

    private IDisposableReadOnlyCollection<OrtValue> Run(OrtValue[] inputs, List<string> outputNames, int texts, int length, CancellationToken cancellationToken)
    {
        using var runOptions = new RunOptions();
        // ONNX Runtime checks the flag between the graph's nodes, so a long forward pass stops early too.
        using var stop = cancellationToken.Register(() => runOptions.Terminate = true);
        try
        {
            return _session.Run(runOptions, [M3Graph.InputIds, M3Graph.AttentionMask], inputs, outputNames);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw new EncoderException(
                $"ONNX Runtime failed on a forward pass of {texts} texts of up to {length} tokens ({e.Message}); " +
                "if memory ran out, lower the batch size or the batch token budget", e);
        }
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();
}

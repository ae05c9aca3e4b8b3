using M3.Core.Inference;
using M3.Core.Representations;
using M3.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace M3.Bench.Encoder;

/// <summary>
/// The plain torch.onnx export, run the way the other ONNX ports run it: default ONNX Runtime session (all graph
/// optimizations), our tokenizer, the same sorted and padded batches as our encoder, the same threads, and the same
/// per-text results materialized (dense vector, sparse weights max-pooled per id, ColBERT rows for tokens 1..n−1).
/// </summary>
internal sealed class OrtExportEngine : IEngine
{
    private readonly InferenceSession _session;
    private readonly XlmRobertaTokenizer _tokenizer;
    private readonly RunOptions _run = new();

    public OrtExportEngine(string model, string onnxPath, int threads)
    {
        if (!File.Exists(onnxPath)) throw new FileNotFoundException("the plain export is missing; the parent exports it first", onnxPath);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(onnxPath, options);
        _tokenizer = XlmRobertaTokenizer.Load(model);
    }

    public int[] TokenCounts(IReadOnlyList<string> texts) => Tokenize(texts).Select(ids => ids.Length).ToArray();

    public void WarmUp(Workload workload) =>
        Encode(workload with { Texts = WarmUpTexts.Of(workload, TokenCounts(workload.Texts)) });

    public IReadOnlyList<M3Embedding>? Encode(Workload workload)
    {
        var ids = Tokenize(workload.Texts);
        var plan = BatchPlan.Create(ids.Select(x => x.Length).ToArray(), workload.BatchSize, workload.MaxBatchTokens);
        var results = new M3Embedding[ids.Length];
        foreach (var batch in plan.Batches) RunBatch(ids, batch, results);
        // Results are only timed, never compared: our own fp32 is the precision reference.
        return null;
    }

    private int[][] Tokenize(IReadOnlyList<string> texts) =>
        texts.Select(t => _tokenizer.Encode(t, M3EncodeOptions.Default.MaxLength).Ids).ToArray();

    private void RunBatch(int[][] ids, int[] batch, M3Embedding[] results)
    {
        var (inputIds, mask, t) = BatchPlan.Pad(ids, batch, XlmRobertaTokenizer.PadId);
        var b = batch.Length;
        long[] shape = [b, t];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var outputs = _session.Run(_run, ["input_ids", "attention_mask"], [idsValue, maskValue], ["dense", "sparse", "colbert"]);
        var dense = outputs[0].GetTensorDataAsSpan<float>();
        var sparse = outputs[1].GetTensorDataAsSpan<float>();
        var colbert = outputs[2].GetTensorDataAsSpan<float>();
        var h = dense.Length / b;
        for (var row = 0; row < b; row++)
        {
            var seq = ids[batch[row]];
            var weights = new Dictionary<int, float>();
            for (var k = 0; k < seq.Length; k++)
            {
                var w = sparse[row * t + k];
                if (seq[k] > XlmRobertaTokenizer.UnkId && w > weights.GetValueOrDefault(seq[k])) weights[seq[k]] = w;
            }
            var rows = colbert.Slice(row * (t - 1) * h, (seq.Length - 1) * h).ToArray();
            results[batch[row]] = new M3Embedding(dense.Slice(row * h, h).ToArray(), SparseVector.FromPairs(weights),
                new MultiVector(rows, h), seq.Length);
        }
    }

    public void Dispose()
    {
        _run.Dispose();
        _session.Dispose();
    }
}

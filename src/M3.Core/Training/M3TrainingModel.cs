using System.Numerics.Tensors;
using M3.Core.Checkpoint;
using Microsoft.ML.OnnxRuntime;

namespace M3.Core.Training;

/// <summary>
/// The engine behind <see cref="IGradientModel"/>: BGE-M3's loss and gradients on ONNX Runtime, by GradCache. (1) The
/// representation graph encodes every text (in sub-batches when asked) without keeping activations; (2) the loss and its
/// gradient with respect to the representations are computed in float64 (<see cref="M3Loss"/>: small B × B·G score
/// matrices, exact argmax handling); (3) the gradient graph re-runs each sub-batch forward and backward with those
/// gradients, so the summed parameter gradients equal the whole batch's. Parameters are graph inputs over the
/// <see cref="TrainableTensor.Values"/> arrays (pinned, no copy); gradients are written straight into
/// <see cref="TrainableTensor.Gradient"/>; embedding tables receive their gathered rows' gradients, scatter-added here.
/// </summary>
internal sealed class M3TrainingModel : IGradientModel
{
    private readonly M3Config _config;
    private readonly TrainingObjective _objective;
    private readonly DropoutRates _dropout;
    private readonly IReadOnlyList<TrainingGraph.DropoutSite> _dropoutSites;
    private readonly InferenceSession _represent, _gradients;
    private readonly string[] _parameterNames;
    private readonly OrtValue[] _parameterValues;
    private readonly TrainableTensor[] _trained;
    private readonly OrtValue[] _gradientValues;
    private readonly SessionOptions _options;
    private readonly List<TrainingGraph.Parameter> _specs;
    private InferenceSession? _accumulate;

    private M3TrainingModel(M3Config config, TrainingObjective objective, DropoutRates dropout, List<(TrainingGraph.Parameter Spec, float[] Values)> parameters, int threads)
    {
        _config = config;
        _objective = objective;
        _dropout = dropout;
        _dropoutSites = TrainingGraph.DropoutSites(config, dropout);
        _parameterNames = [.. parameters.Select(p => p.Spec.Name)];
        _parameterValues = [.. parameters.Select(p => OrtValue.CreateTensorValueFromMemory(p.Values, [.. p.Spec.Shape.Select(d => (long)d)]))];
        _trained = [.. parameters.Where(p => p.Spec.Trained).Select(p => new TrainableTensor(p.Spec.Name, p.Spec.Shape, p.Values))];
        _gradientValues = [.. _trained.Select(t => OrtValue.CreateTensorValueFromMemory(t.Gradient, [.. t.Shape.Select(d => (long)d)]))];
        _specs = parameters.Select(p => p.Spec).ToList();
        _options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Shapes change with every batch: a memory pattern planned for one shape is not reused by the next.
            EnableMemoryPattern = false,
        };
        if (threads > 0) _options.IntraOpNumThreads = threads;
        _represent = Session(TrainingGraph.Kind.Representations);
        _gradients = Session(TrainingGraph.Kind.Gradients);
    }

    private InferenceSession Session(TrainingGraph.Kind kind) =>
        new(TrainingGraph.Build(_config, _objective.Unified, _specs, _dropout, kind), _options);

    /// <summary>
    /// Loads every tensor the objective uses from <paramref name="checkpoint"/>: the encoder's (pooler excluded: its output
    /// is unused) and, when unified, both heads. Trained are the encoder's unless FixEncoder, and the heads when unified.
    /// </summary>
    public static M3TrainingModel Create(M3Checkpoint checkpoint, TrainingObjective objective, int threads = 0)
    {
        if (objective.FixEncoder && !objective.Unified)
            throw new ArgumentException("fix-encoder trains the heads only, but dense-only (not unified) training has no heads: nothing would be trained");
        var dropout = DropoutRates.For(objective, checkpoint.Directory);
        var parameters = new List<(TrainingGraph.Parameter, float[])>();
        foreach (var spec in checkpoint.EncoderTensors)
            parameters.Add((new(spec.Name, spec.Shape, !objective.FixEncoder), checkpoint.ReadEncoderTensor(spec.Name).Data));
        if (objective.Unified)
            foreach (var (name, t) in new[]
                     {
                         (TrainingGraph.ColbertWeight, checkpoint.ColbertLinear.Weight), (TrainingGraph.ColbertBias, checkpoint.ColbertLinear.Bias),
                         (TrainingGraph.SparseWeight, checkpoint.SparseLinear.Weight), (TrainingGraph.SparseBias, checkpoint.SparseLinear.Bias),
                     })
                parameters.Add((new(name, t.Shape, true), (float[])t.Data.Clone()));
        return new M3TrainingModel(checkpoint.Config, objective, dropout, parameters, threads);
    }

    public IReadOnlyList<TrainableTensor> Parameters => _trained;

    /// <summary>Where the last <see cref="ComputeGradients"/> spent its time, for benchmarks.</summary>
    public EngineTimings LastTimings { get; private set; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public LossParts ComputeGradients(TrainingBatch batch, int forwardStep, CancellationToken cancellationToken = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var texts = batch.Queries.Concat(batch.Passages).ToList();
        var chunks = Chunks(texts).ToList();
        var reps = new List<TextRepresentation<float>>(texts.Count);
        foreach (var chunk in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            reps.AddRange(Represent(chunk, forwardStep));
        }
        var represent = clock.Elapsed;
        int q = batch.QueryCount;
        var (loss, qGrads, pGrads) = M3Loss.Compute(batch, [.. reps.Take(q)], [.. reps.Skip(q)], _config.HiddenSize, _objective, forwardStep);
        var grads = qGrads.Concat(pGrads).ToArray();
        var lossTime = clock.Elapsed - represent;

        var rowTables = _trained.Where(t => TrainingGraph.IsRowTable(t.Name)).ToArray();
        foreach (var t in rowTables) ClearRows(t);
        var touched = rowTables.ToDictionary(t => t.Name, _ => new HashSet<int>());
        int start = 0;
        for (int c = 0; c < chunks.Count; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Backward(chunks[c], forwardStep, grads.AsSpan(start, chunks[c].Count), accumulate: c > 0, touched);
            start += chunks[c].Count;
        }
        foreach (var t in rowTables) t.GradientRows = [.. touched[t.Name].Order()];
        LastTimings = new EngineTimings(represent, lossTime, clock.Elapsed - represent - lossTime);
        return loss;
    }

    private IEnumerable<PaddedChunk> Chunks(List<int[]> texts)
    {
        int size = _objective.SubBatchSize is { } s and > 0 ? s : texts.Count;
        for (int i = 0; i < texts.Count; i += size)
            yield return new PaddedChunk(texts.GetRange(i, Math.Min(size, texts.Count - i)), i, _config.PadTokenId, _config.MaxPositionEmbeddings);
    }

    private (List<string> Names, List<OrtValue> Values) Inputs(PaddedChunk chunk, int forwardStep)
    {
        long[] shape = [chunk.Count, chunk.Seq];
        var names = new List<string>(_parameterNames) { TrainingGraph.InputIds, TrainingGraph.PositionIds, TrainingGraph.AttentionBias };
        var values = new List<OrtValue>(_parameterValues)
        {
            OrtValue.CreateTensorValueFromMemory(chunk.Ids, shape),
            OrtValue.CreateTensorValueFromMemory(chunk.Positions, shape),
            OrtValue.CreateTensorValueFromMemory(chunk.Bias, [chunk.Count, 1, 1, chunk.Seq]),
        };
        int n = chunk.Count, seq = chunk.Seq, h = _config.HiddenSize, heads = _config.NumAttentionHeads;
        foreach (var site in _dropoutSites)
        {
            var key = DropoutMasks.SiteKey(_objective.Seed, forwardStep, site.Index);
            names.Add(site.Name);
            values.Add(site.IsAttention
                ? OrtValue.CreateTensorValueFromMemory(DropoutMasks.Attention(key, chunk.First, n, heads, seq, _dropout.Attention), [n, heads, seq, seq])
                : OrtValue.CreateTensorValueFromMemory(DropoutMasks.Hidden(key, chunk.First, n, seq, h, _dropout.Hidden), [n * seq, h]));
        }
        return (names, values);
    }

    private List<TextRepresentation<float>> Represent(PaddedChunk chunk, int forwardStep)
    {
        var (names, values) = Inputs(chunk, forwardStep);
        var outputNames = _objective.Unified ? new[] { TrainingGraph.Dense, TrainingGraph.Sparse, TrainingGraph.Colbert } : [TrainingGraph.Dense];
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = _represent.Run(runOptions, names, values, outputNames);
            int h = _config.HiddenSize, seq = chunk.Seq;
            var result = new List<TextRepresentation<float>>(chunk.Count);
            for (int r = 0; r < chunk.Count; r++)
            {
                var ids = chunk.Texts[r];
                var rep = new TextRepresentation<float>(ids, h, _objective.Unified);
                outputs[0].GetTensorDataAsSpan<float>().Slice(r * h, h).CopyTo(rep.Dense);
                if (_objective.Unified)
                {
                    outputs[1].GetTensorDataAsSpan<float>().Slice(r * seq, ids.Length).CopyTo(rep.Sparse);
                    outputs[2].GetTensorDataAsSpan<float>().Slice(r * (seq - 1) * h, rep.Colbert.Length).CopyTo(rep.Colbert);
                }
                result.Add(rep);
            }
            return result;
        }
        finally
        {
            foreach (var v in values.Skip(_parameterValues.Length)) v.Dispose();
        }
    }

    private void Backward(PaddedChunk chunk, int forwardStep, ReadOnlySpan<TextRepresentation<double>> grads, bool accumulate, Dictionary<string, HashSet<int>> touched)
    {
        var (names, values) = Inputs(chunk, forwardStep);
        int h = _config.HiddenSize, seq = chunk.Seq, n = chunk.Count;
        var dDense = new float[n * h];
        var dSparse = _objective.Unified ? new float[n * seq] : [];
        var dColbert = _objective.Unified ? new float[n * (seq - 1) * h] : [];
        for (int r = 0; r < n; r++)
        {
            Narrow(grads[r].Dense, dDense.AsSpan(r * h, h));
            if (!_objective.Unified) continue;
            Narrow(grads[r].Sparse, dSparse.AsSpan(r * seq, grads[r].Sparse.Length));
            Narrow(grads[r].Colbert, dColbert.AsSpan(r * (seq - 1) * h, grads[r].Colbert.Length));
        }
        names.Add(TrainingGraph.UpstreamPrefix + TrainingGraph.Dense);
        values.Add(OrtValue.CreateTensorValueFromMemory(dDense, [n, h]));
        if (_objective.Unified)
        {
            names.Add(TrainingGraph.UpstreamPrefix + TrainingGraph.Sparse);
            values.Add(OrtValue.CreateTensorValueFromMemory(dSparse, [n, seq]));
            names.Add(TrainingGraph.UpstreamPrefix + TrainingGraph.Colbert);
            values.Add(OrtValue.CreateTensorValueFromMemory(dColbert, [n, seq - 1, h]));
        }

        var outputNames = new List<string>();
        var outputValues = new List<OrtValue>();
        var rowBuffers = new Dictionary<string, float[]>();
        for (int i = 0; i < _trained.Length; i++)
        {
            var t = _trained[i];
            if (TrainingGraph.IsRowTable(t.Name))
            {
                var rows = rowBuffers[t.Name] = new float[n * seq * h];
                outputNames.Add(TrainingGraph.RowsPrefix + t.Name);
                outputValues.Add(OrtValue.CreateTensorValueFromMemory(rows, [n * seq, h]));
            }
            else
            {
                outputNames.Add(TrainingGraph.GradPrefix + t.Name);
                outputValues.Add(_gradientValues[i]);
                if (!accumulate) continue;
                names.Add(TrainingGraph.AccumulatorPrefix + t.Name);
                values.Add(_gradientValues[i]);
            }
        }
        try
        {
            using var runOptions = new RunOptions();
            (accumulate ? _accumulate ??= Session(TrainingGraph.Kind.AccumulatedGradients) : _gradients).Run(runOptions, names, values, outputNames, outputValues);
        }
        finally
        {
            foreach (var v in values.Skip(_parameterValues.Length).Except(_gradientValues)) v.Dispose();
            foreach (var (name, v) in outputNames.Zip(outputValues))
                if (name.StartsWith(TrainingGraph.RowsPrefix, StringComparison.Ordinal)) v.Dispose();
        }

        foreach (var t in _trained)
            if (rowBuffers.TryGetValue(t.Name, out var rows)) ScatterRows(t, chunk, rows, touched[t.Name]);
    }

    /// <summary>Adds the gathered rows' gradients of real tokens into the table rows they were gathered from.</summary>
    private void ScatterRows(TrainableTensor table, PaddedChunk chunk, float[] rows, HashSet<int> touched)
    {
        int h = _config.HiddenSize;
        var index = table.Name == TrainingGraph.WordEmbeddings ? chunk.Ids : chunk.Positions;
        for (int r = 0; r < chunk.Count; r++)
            for (int t = 0; t < chunk.Texts[r].Length; t++)
            {
                int i = r * chunk.Seq + t, row = (int)index[i];
                TensorPrimitives.Add(table.Gradient.AsSpan(row * h, h), rows.AsSpan(i * h, h), table.Gradient.AsSpan(row * h, h));
                touched.Add(row);
            }
    }

    private static void ClearRows(TrainableTensor table)
    {
        if (table.GradientRows == null)
        {
            Array.Clear(table.Gradient);
            return;
        }
        int width = table.RowLength;
        foreach (var row in table.GradientRows) Array.Clear(table.Gradient, row * width, width);
    }

    private static void Narrow(ReadOnlySpan<double> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = (float)source[i];
    }

    public void Dispose()
    {
        _represent.Dispose();
        _gradients.Dispose();
        _accumulate?.Dispose();
        _options.Dispose();
        foreach (var v in _parameterValues) v.Dispose();
        foreach (var v in _gradientValues) v.Dispose();
    }
}

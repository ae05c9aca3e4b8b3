using System.Numerics.Tensors;
using M3.Core.Checkpoint;
using M3.Core.Onnx;
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
    private InferenceSession? _represent, _gradients, _accumulate, _forward, _backward;
    private IReadOnlyList<string> _saved = [];
    private readonly string[] _parameterNames;
    private readonly OrtValue[] _parameterValues;
    private readonly TrainableTensor[] _trained;
    private readonly OrtValue[] _gradientValues;
    private readonly SessionOptions _options;
    private readonly List<TrainingGraph.Parameter> _specs;

    private M3TrainingModel(M3Config config, TrainingObjective objective, DropoutRates dropout, List<(TrainingGraph.Parameter Spec, float[] Values)> parameters, int threads)
    {
        _config = config;
        _objective = objective;
        _dropout = dropout;
        _dropoutSites = TrainingGraph.DropoutSites(config, dropout);
        _parameterNames = [.. parameters.Select(p => p.Spec.Name)];
        _parameterValues = [.. parameters.Select(p => OrtValue.CreateTensorValueFromMemory(p.Values, [.. p.Spec.Shape.Select(d => (long)d)]))];
        _trained = [.. parameters.Where(p => p.Spec.Trained).Select(p => new TrainableTensor(p.Spec.Name, p.Spec.Shape, p.Values))];
        // An embedding table's gradient buffer starts as zeros with no rows written: the first step then clears no rows
        // and never touches the whole table-sized buffer (250,002 × 1,024 floats at full size), so it stays unpaged.
        foreach (var t in _trained)
            if (TrainingGraph.IsRowTable(t.Name)) t.GradientRows = [];
        _gradientValues = [.. _trained.Select(t => OrtValue.CreateTensorValueFromMemory(t.Gradient, [.. t.Shape.Select(d => (long)d)]))];
        _specs = parameters.Select(p => p.Spec).ToList();
        _options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Shapes change with every batch: a memory pattern planned for one shape is not reused by the next.
            EnableMemoryPattern = false,
        };
        if (threads > 0) _options.IntraOpNumThreads = threads;
        TrainingArena.Use(_options);
    }

    // Sessions are built on first use: a run whose batches always fit one pass never needs the GradCache pair, and the reverse.
    private InferenceSession Session(TrainingGraph.Kind kind) =>
        new(TrainingGraph.Build(_config, _objective.Unified, _specs, _dropout, kind), _options);

    private string[] RepresentationNames => _objective.Unified ? [TrainingGraph.Dense, TrainingGraph.Sparse, TrainingGraph.Colbert] : [TrainingGraph.Dense];

    /// <summary>The one-pass pair: the gradient graph cut after the representations (<see cref="GraphSplit"/>).</summary>
    private (InferenceSession Forward, InferenceSession Backward) OnePassSessions()
    {
        if (_forward != null) return (_forward, _backward!);
        var upstream = RepresentationNames.Select(n => TrainingGraph.UpstreamPrefix + n).ToHashSet();
        var split = GraphSplit.Split(TrainingGraph.Build(_config, _objective.Unified, _specs, _dropout, TrainingGraph.Kind.GradientsWithRepresentations),
            RepresentationNames, upstream);
        _saved = split.Saved;
        _forward = new InferenceSession(split.Forward, _options);
        _backward = new InferenceSession(split.Backward, _options);
        return (_forward, _backward);
    }

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
        Validate(texts, batch.QueryCount);
        var chunks = Chunks(texts).ToList();
        var rowTables = _trained.Where(t => TrainingGraph.IsRowTable(t.Name)).ToArray();
        foreach (var t in rowTables) ClearRows(t);
        var touched = rowTables.ToDictionary(t => t.Name, _ => new HashSet<int>());
        int q = batch.QueryCount;
        TimeSpan represent, lossTime;
        LossParts loss;
        if (chunks.Count == 1)
        {
            // The whole batch in one pass: the forward pass keeps what the backward pass reads, and nothing runs twice.
            var chunk = chunks[0];
            var (forward, backward) = OnePassSessions();
            var (names, values) = Inputs(chunk, forwardStep);
            try
            {
                using var runOptions = TrainingArena.RunOptions();
                using var outputs = forward.Run(runOptions, names, values, [.. RepresentationNames, .. _saved]);
                var reps = ReadRepresentations(chunk, outputs);
                represent = clock.Elapsed;
                (loss, var qGrads, var pGrads) = M3Loss.Compute(batch, [.. reps.Take(q)], [.. reps.Skip(q)], _config.HiddenSize, _objective, forwardStep);
                lossTime = clock.Elapsed - represent;
                cancellationToken.ThrowIfCancellationRequested();
                Backward(chunk, [.. names, .. _saved], [.. values, .. outputs.Skip(RepresentationNames.Length)], [.. qGrads, .. pGrads], backward, accumulate: false, touched);
            }
            finally
            {
                foreach (var v in values.Skip(_parameterValues.Length)) v.Dispose();
            }
        }
        else
        {
            var reps = new List<TextRepresentation<float>>(texts.Count);
            foreach (var chunk in chunks)
            {
                cancellationToken.ThrowIfCancellationRequested();
                reps.AddRange(Represent(chunk, forwardStep));
            }
            represent = clock.Elapsed;
            (loss, var qGrads, var pGrads) = M3Loss.Compute(batch, [.. reps.Take(q)], [.. reps.Skip(q)], _config.HiddenSize, _objective, forwardStep);
            var grads = qGrads.Concat(pGrads).ToArray();
            lossTime = clock.Elapsed - represent;
            int start = 0;
            for (int c = 0; c < chunks.Count; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (names, values) = Inputs(chunks[c], forwardStep);
                try
                {
                    var session = c > 0 ? _accumulate ??= Session(TrainingGraph.Kind.AccumulatedGradients) : _gradients ??= Session(TrainingGraph.Kind.Gradients);
                    Backward(chunks[c], names, values, grads.AsSpan(start, chunks[c].Count), session, accumulate: c > 0, touched);
                }
                finally
                {
                    foreach (var v in values.Skip(_parameterValues.Length)) v.Dispose();
                }
                start += chunks[c].Count;
            }
        }
        foreach (var t in rowTables) t.GradientRows = [.. touched[t.Name].Order()];
        LastTimings = new EngineTimings(represent, lossTime, clock.Elapsed - represent - lossTime);
        return loss;
    }

    /// <summary>Every text must be &lt;s&gt; … &lt;/s&gt; (at least two tokens: ColBERT needs a token after &lt;s&gt;) of ids in the vocabulary.</summary>
    private void Validate(List<int[]> texts, int queries)
    {
        for (int i = 0; i < texts.Count; i++)
        {
            var what = i < queries ? $"query {i}" : $"passage {i - queries}";
            if (texts[i].Length < 2)
                throw new ArgumentException($"{what} of the batch has {texts[i].Length} token(s); a tokenized text is <s> … </s>, at least 2 tokens");
            foreach (var id in texts[i])
                if ((uint)id >= (uint)_config.VocabSize)
                    throw new ArgumentException($"{what} of the batch has token id {id}, outside the model's vocabulary of {_config.VocabSize}; was it tokenized for another model?");
        }
    }

    /// <summary>
    /// The passes' sub-batches, texts in order (<see cref="PassPlan"/>): within the objective's token budget and sub-batch
    /// size. This bounds the gradient pass' activation memory (it grows with tokens × layers) without changing the gradients.
    /// </summary>
    private IEnumerable<PackedChunk> Chunks(List<int[]> texts)
    {
        int start = 0;
        foreach (var count in PassPlan.Split([.. texts.Select(t => t.Length)], _objective.PassTokenBudget, _objective.SubBatchSize))
        {
            yield return new PackedChunk(texts.GetRange(start, count), start, _config.PadTokenId, _config.MaxPositionEmbeddings);
            start += count;
        }
    }

    private (List<string> Names, List<OrtValue> Values) Inputs(PackedChunk chunk, int forwardStep)
    {
        var names = new List<string>(_parameterNames)
        {
            TrainingGraph.InputIds, TrainingGraph.PositionIds, TrainingGraph.AttentionBias,
            TrainingGraph.PadIndex, TrainingGraph.PackIndex, TrainingGraph.FirstIndex, TrainingGraph.FirstInverse,
        };
        var values = new List<OrtValue>(_parameterValues)
        {
            OrtValue.CreateTensorValueFromMemory(chunk.Ids, [chunk.Tokens]),
            OrtValue.CreateTensorValueFromMemory(chunk.Positions, [chunk.Tokens]),
            OrtValue.CreateTensorValueFromMemory(chunk.Bias, [chunk.Count, 1, 1, chunk.Seq]),
            OrtValue.CreateTensorValueFromMemory(chunk.PadIndex, [chunk.PadIndex.Length]),
            OrtValue.CreateTensorValueFromMemory(chunk.PackIndex, [chunk.Tokens]),
            OrtValue.CreateTensorValueFromMemory(chunk.FirstIndex, [chunk.Count]),
            OrtValue.CreateTensorValueFromMemory(chunk.FirstInverse, [chunk.Tokens]),
        };
        int n = chunk.Count, seq = chunk.Seq, h = _config.HiddenSize, heads = _config.NumAttentionHeads;
        foreach (var site in _dropoutSites)
        {
            var key = DropoutMasks.SiteKey(_objective.Seed, forwardStep, site.Index);
            names.Add(site.Name);
            values.Add(site.IsAttention
                ? OrtValue.CreateTensorValueFromMemory(DropoutMasks.Attention(key, chunk.First, n, heads, seq, _dropout.Attention), [n, heads, seq, seq])
                : OrtValue.CreateTensorValueFromMemory(DropoutMasks.Hidden(key, chunk.First, chunk.Texts, h, _dropout.Hidden), [chunk.Tokens, h]));
        }
        return (names, values);
    }

    private List<TextRepresentation<float>> Represent(PackedChunk chunk, int forwardStep)
    {
        var (names, values) = Inputs(chunk, forwardStep);
        try
        {
            using var runOptions = TrainingArena.RunOptions();
            using var outputs = (_represent ??= Session(TrainingGraph.Kind.Representations)).Run(runOptions, names, values, RepresentationNames);
            return ReadRepresentations(chunk, outputs);
        }
        finally
        {
            foreach (var v in values.Skip(_parameterValues.Length)) v.Dispose();
        }
    }

    /// <summary>Each text's representations from the graph's outputs: dense [n, H], sparse [tokens], ColBERT [tokens, H].</summary>
    private List<TextRepresentation<float>> ReadRepresentations(PackedChunk chunk, IReadOnlyList<OrtValue> outputs)
    {
        int h = _config.HiddenSize;
        var result = new List<TextRepresentation<float>>(chunk.Count);
        for (int r = 0; r < chunk.Count; r++)
        {
            var ids = chunk.Texts[r];
            int offset = chunk.Offsets[r];
            var rep = new TextRepresentation<float>(ids, h, _objective.Unified);
            outputs[0].GetTensorDataAsSpan<float>().Slice(r * h, h).CopyTo(rep.Dense);
            if (_objective.Unified)
            {
                outputs[1].GetTensorDataAsSpan<float>().Slice(offset, ids.Length).CopyTo(rep.Sparse);
                // ColBERT vectors of the tokens after <s>: packed rows offset + 1 … offset + length − 1.
                outputs[2].GetTensorDataAsSpan<float>().Slice((offset + 1) * h, rep.Colbert.Length).CopyTo(rep.Colbert);
            }
            result.Add(rep);
        }
        return result;
    }

    /// <summary>
    /// Runs a gradient graph on the chunk's inputs (<paramref name="names"/>, <paramref name="values"/>; for the one-pass
    /// graph with its saved activations) plus the loss' gradients: dense gradients land in (or, accumulating, are added
    /// to) the tensors' buffers, embedding rows are scattered.
    /// </summary>
    private void Backward(PackedChunk chunk, List<string> names, List<OrtValue> values, ReadOnlySpan<TextRepresentation<double>> grads,
        InferenceSession session, bool accumulate, Dictionary<string, HashSet<int>> touched)
    {
        names = [.. names];
        var inputs = new List<OrtValue>(values);
        var created = new List<OrtValue>();
        int h = _config.HiddenSize, n = chunk.Count, tokens = chunk.Tokens;
        var dDense = new float[n * h];
        var dSparse = _objective.Unified ? new float[tokens] : [];
        var dColbert = _objective.Unified ? new float[tokens * h] : [];
        for (int r = 0; r < n; r++)
        {
            Narrow(grads[r].Dense, dDense.AsSpan(r * h, h));
            if (!_objective.Unified) continue;
            int offset = chunk.Offsets[r];
            Narrow(grads[r].Sparse, dSparse.AsSpan(offset, grads[r].Sparse.Length));
            Narrow(grads[r].Colbert, dColbert.AsSpan((offset + 1) * h, grads[r].Colbert.Length));
        }
        void Input(string name, OrtValue value)
        {
            names.Add(name);
            inputs.Add(value);
            created.Add(value);
        }
        Input(TrainingGraph.UpstreamPrefix + TrainingGraph.Dense, OrtValue.CreateTensorValueFromMemory(dDense, [n, h]));
        if (_objective.Unified)
        {
            Input(TrainingGraph.UpstreamPrefix + TrainingGraph.Sparse, OrtValue.CreateTensorValueFromMemory(dSparse, [tokens]));
            Input(TrainingGraph.UpstreamPrefix + TrainingGraph.Colbert, OrtValue.CreateTensorValueFromMemory(dColbert, [tokens, h]));
        }

        var outputNames = new List<string>();
        var outputValues = new List<OrtValue>();
        var rowBuffers = new Dictionary<string, float[]>();
        for (int i = 0; i < _trained.Length; i++)
        {
            var t = _trained[i];
            if (TrainingGraph.IsRowTable(t.Name))
            {
                var rows = rowBuffers[t.Name] = new float[tokens * h];
                var value = OrtValue.CreateTensorValueFromMemory(rows, [tokens, h]);
                created.Add(value);
                outputNames.Add(TrainingGraph.RowsPrefix + t.Name);
                outputValues.Add(value);
            }
            else
            {
                outputNames.Add(TrainingGraph.GradPrefix + t.Name);
                outputValues.Add(_gradientValues[i]);
                if (!accumulate) continue;
                names.Add(TrainingGraph.AccumulatorPrefix + t.Name);
                inputs.Add(_gradientValues[i]);
            }
        }
        try
        {
            using var runOptions = TrainingArena.RunOptions();
            session.Run(runOptions, names, inputs, outputNames, outputValues);
        }
        finally
        {
            foreach (var v in created) v.Dispose();
        }

        foreach (var t in _trained)
            if (rowBuffers.TryGetValue(t.Name, out var rows)) ScatterRows(t, chunk, rows, touched[t.Name]);
    }

    /// <summary>Adds the gathered rows' gradients (one per packed token) into the table rows they were gathered from.</summary>
    private void ScatterRows(TrainableTensor table, PackedChunk chunk, float[] rows, HashSet<int> touched)
    {
        int h = _config.HiddenSize;
        var index = table.Name == TrainingGraph.WordEmbeddings ? chunk.Ids : chunk.Positions;
        for (int i = 0; i < chunk.Tokens; i++)
        {
            int row = (int)index[i];
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
        _represent?.Dispose();
        _gradients?.Dispose();
        _accumulate?.Dispose();
        _forward?.Dispose();
        _backward?.Dispose();
        _options.Dispose();
        foreach (var v in _parameterValues) v.Dispose();
        foreach (var v in _gradientValues) v.Dispose();
    }
}

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
    private readonly InferenceSession _represent, _gradients;
    private readonly string[] _parameterNames;
    private readonly OrtValue[] _parameterValues;
    private readonly TrainableTensor[] _trained;
    private readonly OrtValue[] _gradientValues;
    private float[][]? _scratch;
    private OrtValue?[]? _scratchValues;

    private M3TrainingModel(M3Config config, TrainingObjective objective, List<(TrainingGraph.Parameter Spec, float[] Values)> parameters, int threads)
    {
        _config = config;
        _objective = objective;
        _parameterNames = [.. parameters.Select(p => p.Spec.Name)];
        _parameterValues = [.. parameters.Select(p => OrtValue.CreateTensorValueFromMemory(p.Values, [.. p.Spec.Shape.Select(d => (long)d)]))];
        _trained = [.. parameters.Where(p => p.Spec.Trained).Select(p => new TrainableTensor(p.Spec.Name, p.Spec.Shape, p.Values))];
        _gradientValues = [.. _trained.Select(t => OrtValue.CreateTensorValueFromMemory(t.Gradient, [.. t.Shape.Select(d => (long)d)]))];
        var specs = parameters.Select(p => p.Spec).ToList();
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Shapes change with every batch: a memory pattern planned for one shape is not reused by the next.
            EnableMemoryPattern = false,
        };
        if (threads > 0) options.IntraOpNumThreads = threads;
        _represent = new InferenceSession(TrainingGraph.Build(config, objective.Unified, specs, gradients: false), options);
        _gradients = new InferenceSession(TrainingGraph.Build(config, objective.Unified, specs, gradients: true), options);
    }

    /// <summary>
    /// Loads every tensor the objective uses from <paramref name="checkpoint"/>: the encoder's (pooler excluded: its output
    /// is unused) and, when unified, both heads. Trained are the encoder's unless FixEncoder, and the heads when unified.
    /// </summary>
    public static M3TrainingModel Create(M3Checkpoint checkpoint, TrainingObjective objective, int threads = 0)
    {
        if (objective.FixEncoder && !objective.Unified)
            throw new ArgumentException("fix-encoder trains the heads only, but dense-only (not unified) training has no heads: nothing would be trained");
        if (objective.Dropout is > 0 || objective.Dropout == null)
            throw new NotSupportedException("dropout is not implemented by the training engine yet; pass --dropout 0");
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
        return new M3TrainingModel(checkpoint.Config, objective, parameters, threads);
    }

    public IReadOnlyList<TrainableTensor> Parameters => _trained;

    public LossParts ComputeGradients(TrainingBatch batch, int forwardStep, CancellationToken cancellationToken = default)
    {
        var texts = batch.Queries.Concat(batch.Passages).ToList();
        var chunks = Chunks(texts).ToList();
        var reps = new List<TextRepresentation<float>>(texts.Count);
        foreach (var chunk in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            reps.AddRange(Represent(chunk));
        }
        int q = batch.QueryCount;
        var (loss, qGrads, pGrads) = M3Loss.Compute(batch, [.. reps.Take(q)], [.. reps.Skip(q)], _config.HiddenSize, _objective, forwardStep);
        var grads = qGrads.Concat(pGrads).ToArray();

        var rowTables = _trained.Where(t => TrainingGraph.IsRowTable(t.Name)).ToArray();
        foreach (var t in rowTables) ClearRows(t);
        var touched = rowTables.ToDictionary(t => t.Name, _ => new HashSet<int>());
        int start = 0;
        for (int c = 0; c < chunks.Count; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Backward(chunks[c], grads.AsSpan(start, chunks[c].Count), accumulate: c > 0, touched);
            start += chunks[c].Count;
        }
        foreach (var t in rowTables) t.GradientRows = [.. touched[t.Name].Order()];
        return loss;
    }

    private IEnumerable<PaddedChunk> Chunks(List<int[]> texts)
    {
        int size = _objective.SubBatchSize is { } s and > 0 ? s : texts.Count;
        for (int i = 0; i < texts.Count; i += size)
            yield return new PaddedChunk(texts.GetRange(i, Math.Min(size, texts.Count - i)), _config.PadTokenId, _config.MaxPositionEmbeddings);
    }

    private (List<string> Names, List<OrtValue> Values) Inputs(PaddedChunk chunk)
    {
        long[] shape = [chunk.Count, chunk.Seq];
        var names = new List<string>(_parameterNames) { TrainingGraph.InputIds, TrainingGraph.PositionIds, TrainingGraph.AttentionBias };
        var values = new List<OrtValue>(_parameterValues)
        {
            OrtValue.CreateTensorValueFromMemory(chunk.Ids, shape),
            OrtValue.CreateTensorValueFromMemory(chunk.Positions, shape),
            OrtValue.CreateTensorValueFromMemory(chunk.Bias, [chunk.Count, 1, 1, chunk.Seq]),
        };
        return (names, values);
    }

    private List<TextRepresentation<float>> Represent(PaddedChunk chunk)
    {
        var (names, values) = Inputs(chunk);
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

    private void Backward(PaddedChunk chunk, ReadOnlySpan<TextRepresentation<double>> grads, bool accumulate, Dictionary<string, HashSet<int>> touched)
    {
        var (names, values) = Inputs(chunk);
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
        OrtValue?[] denseTargets = accumulate ? ScratchValues() : _gradientValues;
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
                outputValues.Add(denseTargets[i]!);
            }
        }
        try
        {
            using var runOptions = new RunOptions();
            _gradients.Run(runOptions, names, values, outputNames, outputValues);
        }
        finally
        {
            foreach (var v in values.Skip(_parameterValues.Length)) v.Dispose();
            foreach (var (name, v) in outputNames.Zip(outputValues))
                if (name.StartsWith(TrainingGraph.RowsPrefix, StringComparison.Ordinal)) v.Dispose();
        }

        for (int i = 0; i < _trained.Length; i++)
        {
            var t = _trained[i];
            if (rowBuffers.TryGetValue(t.Name, out var rows)) ScatterRows(t, chunk, rows, touched[t.Name]);
            else if (accumulate) TensorPrimitives.Add(t.Gradient, _scratch![i], t.Gradient);
        }
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

    /// <summary>Buffers for the sub-batches after the first, whose gradients are added to the first's (same layout as the gradients).</summary>
    private OrtValue?[] ScratchValues()
    {
        if (_scratchValues != null) return _scratchValues;
        _scratch = [.. _trained.Select(t => TrainingGraph.IsRowTable(t.Name) ? [] : new float[t.Gradient.Length])];
        _scratchValues = [.. _trained.Select((t, i) => TrainingGraph.IsRowTable(t.Name) ? null
            : OrtValue.CreateTensorValueFromMemory(_scratch[i], [.. t.Shape.Select(d => (long)d)]))];
        return _scratchValues;
    }

    private static void Narrow(ReadOnlySpan<double> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = (float)source[i];
    }

    public void Dispose()
    {
        _represent.Dispose();
        _gradients.Dispose();
        foreach (var v in _parameterValues) v.Dispose();
        foreach (var v in _gradientValues) v.Dispose();
        if (_scratchValues != null) foreach (var v in _scratchValues) v?.Dispose();
    }
}

using System.Numerics.Tensors;

namespace M3.Core.Training.Optimization;

/// <summary>
/// torch.optim.AdamW (its single-tensor CPU path) updating <see cref="TrainableTensor.Values"/> in place, SIMD over
/// blocks, without copies of the parameters: only the two moment buffers. Tensors with
/// <see cref="TrainableTensor.GradientRows"/> (embedding matrices) are updated on the union of the rows that ever had a
/// gradient; every other row has zero moments, so dense AdamW leaves it unchanged too (weight decay, when set, is
/// applied to all rows as dense AdamW does).
/// </summary>
internal sealed class AdamW
{
    private const int Block = 16384;

    private readonly AdamWSettings _settings;
    private readonly TensorState[] _states;

    public AdamW(IReadOnlyList<TrainableTensor> parameters, AdamWSettings settings)
    {
        _settings = settings;
        _states = parameters.Select(p => new TensorState(p)).ToArray();
    }

    /// <summary>Optimizer steps taken (PyTorch's per-parameter <c>step</c>, the same for all here).</summary>
    public int StepCount { get; private set; }

    /// <summary>Each tensor's first and second moments (<c>exp_avg</c>, <c>exp_avg_sq</c>), for checkpoints.</summary>
    public IEnumerable<(TrainableTensor Tensor, float[] ExpAvg, float[] ExpAvgSq)> Moments =>
        _states.Select(s => (s.Tensor, s.ExpAvg, s.ExpAvgSq));

    /// <summary>Continues from a checkpoint: the step count, and moments written by <paramref name="fill"/> into each tensor's buffers.</summary>
    public void Restore(int stepCount, Action<TrainableTensor, float[], float[]> fill)
    {
        StepCount = stepCount;
        foreach (var s in _states)
        {
            fill(s.Tensor, s.ExpAvg, s.ExpAvgSq);
            s.RowsFromMoments();
        }
    }

    /// <summary>One update with the gradients now in the tensors, at learning rate <paramref name="learningRate"/> (0 still advances the moments and the step count).</summary>
    public void Step(double learningRate)
    {
        StepCount++;
        var step = new StepConstants(
            Beta1: (float)_settings.Beta1,
            Beta2: (float)_settings.Beta2,
            Epsilon: (float)_settings.Epsilon,
            StepSize: (float)(learningRate / (1 - Math.Pow(_settings.Beta1, StepCount))),
            Bias2Sqrt: (float)Math.Sqrt(1 - Math.Pow(_settings.Beta2, StepCount)),
            Decay: (float)(1 - learningRate * _settings.WeightDecay));
        Parallel.ForEach(_states, () => new float[Block], (s, _, scratch) =>
        {
            s.Update(step, StepCount, scratch);
            return scratch;
        }, _ => { });
    }

    private readonly record struct StepConstants(float Beta1, float Beta2, float Epsilon, float StepSize, float Bias2Sqrt, float Decay);

    private sealed class TensorState(TrainableTensor tensor)
    {
        public TrainableTensor Tensor { get; } = tensor;
        public float[] ExpAvg { get; } = new float[tensor.Values.Length];
        public float[] ExpAvgSq { get; } = new float[tensor.Values.Length];

        // Row tracking, created when the engine first reports GradientRows; dropped for good if it ever reports a whole tensor.
        private bool[]? _touched;
        private List<int>? _touchedRows;
        private int[]? _lastGradientStep;
        private bool _dense;

        /// <summary>After a restore, the rows with non-zero moments are the rows that had a gradient.</summary>
        public void RowsFromMoments()
        {
            if (Tensor.Shape.Length < 2) return;
            var width = Tensor.RowLength;
            InitRows();
            for (var r = 0; r < Tensor.Shape[0]; r++)
                if (TensorPrimitives.MaxMagnitude<float>(ExpAvgSq.AsSpan(r * width, width)) != 0 || TensorPrimitives.MaxMagnitude<float>(ExpAvg.AsSpan(r * width, width)) != 0)
                    Touch(r);
        }

        public void Update(in StepConstants c, int stepCount, float[] scratch)
        {
            var decays = c.Decay != 1 && !Tensor.NoWeightDecay;
            if (Tensor.GradientRows is not { } rows || _dense)
            {
                _dense = true;
                Kernel(0, Tensor.Values.Length, gradient: true, decays ? c.Decay : 1, c, scratch);
                return;
            }
            if (_touched == null) InitRows();
            if (decays) TensorPrimitives.Multiply(Tensor.Values, c.Decay, Tensor.Values);
            foreach (var r in rows)
            {
                _lastGradientStep![r] = stepCount;
                Touch(r);
            }
            var width = Tensor.RowLength;
            foreach (var r in _touchedRows!)
                Kernel(r * width, width, gradient: _lastGradientStep![r] == stepCount, 1, c, scratch);
        }

        private void InitRows()
        {
            _touched ??= new bool[Tensor.Shape[0]];
            _touchedRows ??= [];
            _lastGradientStep ??= new int[Tensor.Shape[0]];
        }

        private void Touch(int row)
        {
            if (_touched![row]) return;
            _touched[row] = true;
            _touchedRows!.Add(row);
        }

        /// <summary>AdamW on [start, start+length); without a gradient (a row that had one before) g = 0.</summary>
        private void Kernel(int start, int length, bool gradient, float decay, in StepConstants c, float[] scratch)
        {
            for (var offset = start; offset < start + length; offset += Block)
            {
                var n = Math.Min(Block, start + length - offset);
                var p = Tensor.Values.AsSpan(offset, n);
                var m = ExpAvg.AsSpan(offset, n);
                var v = ExpAvgSq.AsSpan(offset, n);
                var tmp = scratch.AsSpan(0, n);
                if (decay != 1) TensorPrimitives.Multiply(p, decay, p);
                TensorPrimitives.Multiply(v, c.Beta2, v);
                if (gradient)
                {
                    var g = Tensor.Gradient.AsSpan(offset, n);
                    TensorPrimitives.Lerp(m, g, 1 - c.Beta1, m);
                    TensorPrimitives.Multiply(g, g, tmp);
                    TensorPrimitives.MultiplyAdd(tmp, 1 - c.Beta2, v, v);
                }
                else TensorPrimitives.Multiply(m, c.Beta1, m);
                TensorPrimitives.Sqrt(v, tmp);
                TensorPrimitives.Divide(tmp, c.Bias2Sqrt, tmp);
                TensorPrimitives.Add(tmp, c.Epsilon, tmp);
                TensorPrimitives.Divide(m, tmp, tmp);
                TensorPrimitives.MultiplyAdd(tmp, -c.StepSize, p, p);
            }
        }
    }
}

using System.Numerics.Tensors;

namespace M3.Core.Training.Optimization;

/// <summary>
/// <c>torch.nn.utils.clip_grad_norm_</c> over all trainable tensors: the global L2 norm of the gradients, and scaling
/// by max_norm/(norm+1e-6) when that is below 1. Embedding gradients are read only on their <see cref="TrainableTensor.GradientRows"/>.
/// </summary>
internal static class GradientClipping
{
    /// <summary>Sums squares in float32 blocks (SIMD) accumulated in float64, so 568M terms lose no precision.</summary>
    public static double GlobalNorm(IReadOnlyList<TrainableTensor> parameters)
    {
        double sum = 0;
        foreach (var t in parameters)
            foreach (var range in GradientRanges(t))
                sum += SumOfSquares(t.Gradient.AsSpan(range.Start, range.Length));
        return Math.Sqrt(sum);
    }

    /// <summary>Clips in place; returns the coefficient applied (1 when the norm is within bounds).</summary>
    public static double Clip(IReadOnlyList<TrainableTensor> parameters, double norm, double maxNorm)
    {
        var coefficient = maxNorm / (norm + 1e-6);
        if (coefficient >= 1) return 1;
        foreach (var t in parameters)
            foreach (var range in GradientRanges(t))
            {
                var span = t.Gradient.AsSpan(range.Start, range.Length);
                TensorPrimitives.Multiply(span, (float)coefficient, span);
            }
        return coefficient;
    }

    /// <summary>The (start, length) ranges of a tensor's gradient that may be non-zero: one per listed row, else the whole tensor.</summary>
    internal static IEnumerable<(int Start, int Length)> GradientRanges(TrainableTensor t)
    {
        if (t.GradientRows is not { } rows)
        {
            yield return (0, t.Gradient.Length);
            yield break;
        }
        var width = t.RowLength;
        foreach (var r in rows) yield return (r * width, width);
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        const int block = 4096;
        double sum = 0;
        for (var start = 0; start < values.Length; start += block)
            sum += TensorPrimitives.SumOfSquares(values.Slice(start, Math.Min(block, values.Length - start)));
        return sum;
    }
}

namespace M3.Core.Training.Data;

/// <summary>One example's group for one epoch: the index of its positive and of its G−1 negatives (repeats allowed when it has too few).</summary>
internal sealed record SampledGroup(int Example, int Positive, int[] Negatives);

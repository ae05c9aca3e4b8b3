namespace M3.Core.Checkpoint;

/// <summary>A torch <c>nn.Linear</c>: weight [out, in] and bias [out].</summary>
internal sealed record LinearWeights(CheckpointTensor Weight, CheckpointTensor Bias)
{
    public int InFeatures => Weight.Shape[1];

    public int OutFeatures => Weight.Shape[0];
}

namespace M3.Core.Training.Optimization;

/// <summary>torch.optim.AdamW's hyper-parameters with Hugging Face Trainer's defaults.</summary>
internal sealed record AdamWSettings
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Applied to every tensor except biases and LayerNorm weights (<see cref="TrainableTensor.NoWeightDecay"/>).</summary>
    public double WeightDecay { get; init; }
}

namespace M3.Core.Training;

/// <summary>
/// The seam between the training loop (data, optimizer, schedule, checkpoints) and the engine that computes the loss
/// and its gradients on ONNX Runtime.
/// </summary>
internal interface IGradientModel : IDisposable
{
    /// <summary>The tensors this objective trains (all encoder tensors used by the forward pass and both heads; only the heads with FixEncoder; no heads when not unified).</summary>
    IReadOnlyList<TrainableTensor> Parameters { get; }

    /// <summary>
    /// Computes the loss of <paramref name="batch"/> at the current parameter values and writes every parameter's
    /// gradient (overwriting the previous one). <paramref name="forwardStep"/> is FlagEmbedding's forward-call counter,
    /// which decides whether self-distillation applies.
    /// </summary>
    LossParts ComputeGradients(TrainingBatch batch, int forwardStep, CancellationToken cancellationToken = default);
}

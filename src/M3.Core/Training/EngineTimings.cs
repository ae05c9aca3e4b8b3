namespace M3.Core.Training;

/// <summary>
/// One gradient computation's time: the representation pass (encoder forward without activations kept), the loss and its
/// gradient in float64, and the gradient pass (encoder forward again plus backward, embedding rows scattered).
/// </summary>
internal sealed record EngineTimings(TimeSpan Represent, TimeSpan Loss, TimeSpan Gradients);

namespace M3.Core.Checkpoint;

/// <summary>Fills a tensor's float32 values, for writers that stream one tensor at a time.</summary>
internal delegate void TensorFiller(TensorInfo tensor, Span<float> destination);

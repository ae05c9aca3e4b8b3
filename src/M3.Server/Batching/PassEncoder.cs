using M3.Core.Inference;
using M3.Core.Representations;

namespace M3.Server.Batching;

/// <summary>Runs one forward pass' worth of tokenized texts (as <see cref="M3Encoder"/> tokenizes them) through the encoder.</summary>
internal delegate IReadOnlyList<M3Embedding> PassEncoder(IReadOnlyList<int[]> tokenized, M3EncodeOptions options);

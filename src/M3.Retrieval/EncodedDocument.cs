using M3.Core.Representations;

namespace M3.Retrieval;

/// <summary>A document encoded elsewhere (one passage): its id, stored text, optional metadata (a JSON object) and representations.</summary>
public sealed record EncodedDocument(string Id, string Text, M3Embedding Embedding, string? MetadataJson = null);

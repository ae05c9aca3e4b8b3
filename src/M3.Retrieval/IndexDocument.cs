namespace M3.Retrieval;

/// <summary>A document to index: its id, text and optional metadata (a JSON object, stored as given).</summary>
public sealed record IndexDocument(string Id, string Text, string? MetadataJson = null);

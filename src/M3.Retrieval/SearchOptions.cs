using M3.Core.Scoring;

namespace M3.Retrieval;

/// <summary>How to rank documents for a query.</summary>
public enum SearchMode
{
    /// <summary>Dot product of dense vectors.</summary>
    Dense,
    /// <summary>Lexical matching over the inverted index.</summary>
    Sparse,
    /// <summary>ColBERT MaxSim.</summary>
    Colbert,
    /// <summary>FlagEmbedding's "All": colbert+sparse+dense with <see cref="SearchOptions.Weights"/>.</summary>
    Hybrid,
    /// <summary>
    /// Reciprocal rank fusion of the dense, sparse and ColBERT rankings (without ColBERT vectors: dense and sparse): each
    /// ranking adds 1 / (60 + rank) to a document, rank counted from 1.
    /// </summary>
    Rrf,
}

/// <summary>How <see cref="M3Index.Search(M3.Core.Representations.M3Embedding, SearchOptions?)"/> ranks and how many hits it returns.</summary>
public sealed record SearchOptions
{
    /// <summary>The score documents are ranked by (default <see cref="SearchMode.Hybrid"/>).</summary>
    public SearchMode Mode { get; init; } = SearchMode.Hybrid;

    /// <summary>Documents returned, at most.</summary>
    public int TopK { get; init; } = 10;

    /// <summary>Weights of the dense, sparse and ColBERT scores in <see cref="SearchMode.Hybrid"/>.</summary>
    public HybridWeights Weights { get; init; } = HybridWeights.Default;

    /// <summary>No approximation anywhere: every document is scored in every mode.</summary>
    public bool Exact { get; init; }

    /// <summary>Without <see cref="Exact"/>: how many dense and how many sparse candidates are re-ranked by ColBERT/hybrid scores.</summary>
    public int Candidates { get; init; } = 100;
}

/// <summary>One result: the document id (passage scores are aggregated per document by max) and its score.</summary>
public sealed record SearchHit(string Id, float Score);

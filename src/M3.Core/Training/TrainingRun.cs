namespace M3.Core.Training;

/// <summary>One <c>m3 train</c> run: the model to start from, the data, where the result goes, the loss and the loop's settings.</summary>
/// <param name="ModelDirectory">A BGE-M3 checkpoint folder (tokenizer files included).</param>
/// <param name="DataPaths">FlagEmbedding JSON Lines files, or folders of them.</param>
/// <param name="OutputDirectory">Receives the trained model (BGE-M3's layout) and the <c>checkpoint-STEP</c> folders.</param>
/// <param name="Resume">Continue from the newest checkpoint in <paramref name="OutputDirectory"/>.</param>
/// <param name="Overwrite">Allow an output folder that already has files (they are replaced).</param>
/// <param name="SaveTotalLimit">Keep only this many newest checkpoints (null: all).</param>
internal sealed record TrainingRun(
    string ModelDirectory,
    IReadOnlyList<string> DataPaths,
    string OutputDirectory,
    TrainingObjective Objective,
    TrainerOptions Options,
    bool Resume = false,
    bool Overwrite = false,
    int? SaveTotalLimit = null);

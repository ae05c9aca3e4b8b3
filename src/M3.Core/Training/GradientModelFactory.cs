namespace M3.Core.Training;

/// <summary>Builds the engine for a BGE-M3 checkpoint folder and an objective (the loop never depends on how gradients are computed).</summary>
internal delegate IGradientModel GradientModelFactory(string checkpointDirectory, TrainingObjective objective);

using System.Text.Json;
using M3.Core.Checkpoint;
using M3.Core.Inference;
using M3.Core.Training;
using M3.Tests;

namespace M3.Core.Tests.Training;

public class M3TrainerTests
{
    private static readonly string Data = Path.Combine(TestPaths.TinyM3, "train_golden.train.jsonl");

    private static readonly TrainerOptions Small = new()
    {
        BatchSize = 2,
        GroupSize = 4,
        QueryMaxLength = 64,
        PassageMaxLength = 256,
        LearningRate = 1e-2,
        WarmupSteps = 2,
        MaxSteps = 5,
        Seed = 7,
    };

    [Fact]
    public void Trains_the_scheduled_steps_and_writes_a_loadable_BGE_M3_folder()
    {
        var output = Path.Combine(TestPaths.NewTempDir(), "out");
        AnalyticGradientModel? model = null;
        var reports = new List<TrainingStepReport>();
        var trainer = new M3Trainer((dir, objective) => model = new AnalyticGradientModel(dir, objective));
        var result = trainer.Train(new TrainingRun(TestPaths.TinyM3, [Data], output, new TrainingObjective(), Small), new Sync(reports.Add));

        Assert.Equal([0, 1, 2, 3, 4], model!.ForwardSteps);
        Assert.Equal([0, 0.005, 0.01, Math.Round(0.02 / 3, 12), Math.Round(0.01 / 3, 12)], reports.Select(r => Math.Round(r.LearningRate, 12)));
        Assert.All(reports, r => Assert.True(r.GradientNorm > 1, "the analytic loss's gradient is larger than the clipping bound"));
        Assert.Equal(5, result.Steps);
        Assert.Equal(reports.Sum(r => r.Tokens), result.Tokens);
        Assert.InRange(result.PaddingFraction, 0.01, 0.99);

        foreach (var file in new[] { "config.json", "model.safetensors", "colbert_linear.pt", "sparse_linear.pt", "tokenizer.json", "sentencepiece.bpe.model", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.TinyM3, "config.json")), File.ReadAllText(Path.Combine(output, "config.json")));
        using (var written = M3Checkpoint.Open(output))
        using (var source = M3Checkpoint.Open(TestPaths.TinyM3))
        {
            foreach (var p in model.Parameters.Where(p => !p.Name.Contains("_linear.")))
                Assert.Equal(p.Values, written.ReadEncoderTensor(p.Name).Data);
            Assert.Equal(model.Parameters.Single(p => p.Name == "colbert_linear.weight").Values, written.ColbertLinear.Weight.Data);
            Assert.Equal(model.Parameters.Single(p => p.Name == "sparse_linear.bias").Values, written.SparseLinear.Bias.Data);
            Assert.Equal(source.Weights.Read("pooler.dense.weight").Data, written.Weights.Read("pooler.dense.weight").Data);

            // A row no batch touched is exactly the source's; a touched one moved.
            var seen = model.Batches.SelectMany(b => b.Queries.Concat(b.Passages)).SelectMany(x => x).ToHashSet();
            var width = source.Config.HiddenSize;
            var before = source.ReadEncoderTensor(AnalyticGradientModel.Embeddings).Data;
            var after = written.ReadEncoderTensor(AnalyticGradientModel.Embeddings).Data;
            var untouched = Enumerable.Range(0, source.Config.VocabSize).First(r => !seen.Contains(r));
            Assert.Equal(before.AsSpan(untouched * width, width).ToArray(), after.AsSpan(untouched * width, width).ToArray());
            var touched = seen.First(r => r > 3);
            Assert.NotEqual(before.AsSpan(touched * width, width).ToArray(), after.AsSpan(touched * width, width).ToArray());
        }
        using var encoder = M3Encoder.Load(output);
        Assert.Equal(encoder.Config.HiddenSize, encoder.Encode(["a trained model encodes"])[0].Dense!.Length);
    }

    [Fact]
    public void Tensors_the_objective_does_not_train_are_written_from_the_source()
    {
        var root = TestPaths.NewTempDir();
        var trainer = new M3Trainer((d, o) => new AnalyticGradientModel(d, o));
        var (heads, dense) = (Path.Combine(root, "heads"), Path.Combine(root, "dense"));
        trainer.Train(new TrainingRun(TestPaths.TinyM3, [Data], heads, new TrainingObjective { FixEncoder = true }, Small with { MaxSteps = 2 }));
        trainer.Train(new TrainingRun(TestPaths.TinyM3, [Data], dense, new TrainingObjective { Unified = false }, Small with { MaxSteps = 2 }));

        using var source = M3Checkpoint.Open(TestPaths.TinyM3);
        using var fixedEncoder = M3Checkpoint.Open(heads);
        using var denseOnly = M3Checkpoint.Open(dense);
        foreach (var spec in source.EncoderTensors)
            Assert.Equal(source.ReadEncoderTensor(spec.Name).Data, fixedEncoder.ReadEncoderTensor(spec.Name).Data);
        Assert.NotEqual(source.ColbertLinear.Weight.Data, fixedEncoder.ColbertLinear.Weight.Data);
        Assert.NotEqual(source.ReadEncoderTensor("encoder.layer.0.output.dense.weight").Data, denseOnly.ReadEncoderTensor("encoder.layer.0.output.dense.weight").Data);
        Assert.Equal(source.ColbertLinear.Weight.Data, denseOnly.ColbertLinear.Weight.Data);
        Assert.Equal(source.SparseLinear.Bias.Data, denseOnly.SparseLinear.Bias.Data);
    }

    [Fact]
    public void Resume_ends_with_the_same_weights_as_an_uninterrupted_run()
    {
        var root = TestPaths.NewTempDir();
        var options = Small with { Shuffle = true, SaveSteps = 2, MaxSteps = 7, BatchSize = 4 };
        var straight = new List<AnalyticGradientModel>();
        new M3Trainer((d, o) => Add(straight, new AnalyticGradientModel(d, o)))
            .Train(new TrainingRun(TestPaths.TinyM3, [Data], Path.Combine(root, "a"), new TrainingObjective(), options));

        var interrupted = new List<AnalyticGradientModel>();
        var trainer = new M3Trainer((d, o) => Add(interrupted, new AnalyticGradientModel(d, o)));
        var b = Path.Combine(root, "b");
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Train(new TrainingRun(TestPaths.TinyM3, [Data], b, new TrainingObjective(), options),
            new Sync(r => { if (r.Step == 4) cancel.Cancel(); }), cancel.Token));
        Assert.True(Directory.Exists(Path.Combine(b, "checkpoint-4")));
        var result = trainer.Train(new TrainingRun(TestPaths.TinyM3, [Data], b, new TrainingObjective(), options, Resume: true));

        Assert.Equal(4, result.ResumedFromStep);
        Assert.Equal([4, 5, 6], interrupted[1].ForwardSteps);
        Assert.Equal(Tokens(straight[0].Batches.Skip(4)), Tokens(interrupted[1].Batches));
        using var expected = SafetensorsFile.Open(Path.Combine(root, "a", "model.safetensors"));
        using var actual = SafetensorsFile.Open(Path.Combine(b, "model.safetensors"));
        foreach (var name in expected.Tensors.Keys) Assert.Equal(expected.Read(name).Data, actual.Read(name).Data);
        Assert.True(Directory.Exists(Path.Combine(b, "checkpoint-6")), "checkpoints stay beside the final model");

        var other = new TrainingRun(TestPaths.TinyM3, [Data], b, new TrainingObjective(), options with { Seed = 8 }, Resume: true);
        Assert.Contains("seed 7 → 8", Assert.Throws<InvalidOperationException>(() => trainer.Train(other)).Message);
    }

    [Fact]
    public void Refuses_a_non_empty_output_unless_overwriting()
    {
        var output = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(output, "keep.txt"), "x");
        var trainer = new M3Trainer((d, o) => new AnalyticGradientModel(d, o));
        var run = new TrainingRun(TestPaths.TinyM3, [Data], output, new TrainingObjective(), Small with { MaxSteps = 1 });
        Assert.Contains("--overwrite", Assert.Throws<InvalidOperationException>(() => trainer.Train(run)).Message);
        Assert.Contains("no checkpoint", Assert.Throws<InvalidOperationException>(() => trainer.Train(run with { Resume = true })).Message);
        trainer.Train(run with { Overwrite = true });
        Assert.False(File.Exists(Path.Combine(output, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Fact]
    public void Gradients_only_writes_loss_parts_and_row_sparse_embedding_gradients()
    {
        var prefix = Path.Combine(TestPaths.NewTempDir(), "g");
        AnalyticGradientModel? model = null;
        var loss = new M3Trainer((d, o) => model = new AnalyticGradientModel(d, o))
            .GradientsOnly(new TrainingRun(TestPaths.TinyM3, [Data], "", new TrainingObjective(), Small with { Shuffle = false }), prefix);

        Assert.Equal([0], model!.ForwardSteps);
        using (var json = JsonDocument.Parse(File.ReadAllText(prefix + ".json")))
        {
            Assert.Equal(["dense", "total"], json.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal(loss.Total, json.RootElement.GetProperty("total").GetDouble());
        }
        using var file = SafetensorsFile.Open(prefix + ".safetensors");
        var embeddings = model.Parameters.Single(p => p.Name == AnalyticGradientModel.Embeddings);
        Assert.Equal(TensorDType.I64, file.Tensors[AnalyticGradientModel.Embeddings + ".rows"].DType);
        var rows = file.Read(AnalyticGradientModel.Embeddings + ".rows").Data.Select(r => (int)r).ToArray();
        Assert.Equal(embeddings.GradientRows, rows);
        var values = file.Read(AnalyticGradientModel.Embeddings + ".values");
        Assert.Equal([rows.Length, embeddings.RowLength], values.Shape);
        Assert.Equal(embeddings.Gradient.AsSpan(rows[1] * embeddings.RowLength, embeddings.RowLength).ToArray(),
            values.Data.AsSpan(embeddings.RowLength, embeddings.RowLength).ToArray());
        var colbert = model.Parameters.Single(p => p.Name == "colbert_linear.weight");
        Assert.Equal(colbert.Gradient, file.Read("colbert_linear.weight").Data);
        Assert.False(file.Tensors.ContainsKey(AnalyticGradientModel.Embeddings));
    }

    private static AnalyticGradientModel Add(List<AnalyticGradientModel> list, AnalyticGradientModel model)
    {
        list.Add(model);
        return model;
    }

    private static List<int[]> Tokens(IEnumerable<TrainingBatch> batches) => batches.Select(b => b.Queries.Concat(b.Passages).SelectMany(x => x).ToArray()).ToList();

    private sealed class Sync(Action<TrainingStepReport> report) : IProgress<TrainingStepReport>
    {
        public void Report(TrainingStepReport value) => report(value);
    }
}

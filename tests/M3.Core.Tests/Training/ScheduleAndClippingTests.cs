using M3.Core.Training;
using M3.Core.Training.Optimization;

namespace M3.Core.Tests.Training;

public class ScheduleAndClippingTests
{
    [Fact]
    public void Linear_warmup_matches_transformers_and_the_golden_trajectory()
    {
        // train_golden.json trajectory: peak 1e-3, warmup 1, 3 steps → lr 0, 1e-3, 5e-4.
        var golden = new LinearWarmupSchedule(1e-3, 1, 3);
        Assert.Equal([0.0, 1e-3, 5e-4], Enumerable.Range(0, 3).Select(golden.LearningRate));

        var s = new LinearWarmupSchedule(1.0, 4, 10);
        Assert.Equal([0, 0.25, 0.5, 0.75, 1, 5 / 6.0, 4 / 6.0, 3 / 6.0, 2 / 6.0, 1 / 6.0], Enumerable.Range(0, 10).Select(s.LearningRate));
        Assert.Equal(0, s.LearningRate(12));
        Assert.Equal(1.0, new LinearWarmupSchedule(1.0, 0, 5).LearningRate(0));
    }

    [Fact]
    public void Warmup_ratio_rounds_up_and_explicit_steps_win()
    {
        Assert.Equal(1, LinearWarmupSchedule.ResolveWarmupSteps(null, 0.1, 3));
        Assert.Equal(10, LinearWarmupSchedule.ResolveWarmupSteps(null, 0.1, 100));
        Assert.Equal(0, LinearWarmupSchedule.ResolveWarmupSteps(null, 0, 100));
        Assert.Equal(7, LinearWarmupSchedule.ResolveWarmupSteps(7, 0.5, 100));
    }

    [Fact]
    public void Global_norm_counts_only_reported_rows_and_clips_as_torch()
    {
        var dense = new TrainableTensor("a.weight", [2], [0, 0]);
        new[] { 3f, 4f }.CopyTo(dense.Gradient, 0);
        var embedding = new TrainableTensor("embeddings.word_embeddings.weight", [3, 2], new float[6]);
        new[] { 12f, 0f, 99f, 99f, 0f, 0f }.CopyTo(embedding.Gradient, 0);
        embedding.GradientRows = [0]; // row 1 holds stale values the engine did not report: they must not count
        var parameters = new[] { dense, embedding };

        var norm = GradientClipping.GlobalNorm(parameters);
        Assert.Equal(13.0, norm, 12);

        var coefficient = GradientClipping.Clip(parameters, norm, 1.0);
        Assert.Equal(1.0 / (13.0 + 1e-6), coefficient, 15);
        Assert.Equal(3 * coefficient, dense.Gradient[0], 6);
        Assert.Equal(12 * coefficient, embedding.Gradient[0], 6);
        Assert.Equal(99f, embedding.Gradient[2]);
        Assert.Equal(1.0, GradientClipping.Clip(parameters, 0.5, 1.0));
    }

    [Fact]
    public void Clip_coefficient_of_the_golden_first_step()
    {
        // train_golden.json trajectory step 0: grad_norm 60.110886474520186, clip_coef 0.01663592141147276.
        var t = new TrainableTensor("x.weight", [1], [0]);
        t.Gradient[0] = 60.110886474520186f;
        Assert.Equal(0.01663592141147276, GradientClipping.Clip([t], 60.110886474520186, 1.0), 15);
    }
}

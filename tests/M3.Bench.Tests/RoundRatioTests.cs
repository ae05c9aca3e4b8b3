using M3.Bench.Encoder;

namespace M3.Bench.Tests;

/// <summary>The benchmark's ratios are computed within each round, then summarized over rounds as median and range.</summary>
public class RoundRatioTests
{
    [Fact]
    public void Spread_is_the_median_and_range_of_odd_and_even_counts()
    {
        Assert.Equal(new Spread(2, 1, 5), Spread.Of([5, 1, 2]));
        Assert.Equal(new Spread(2.5, 1, 7), Spread.Of([7, 3, 1, 2]));
        Assert.Null(Spread.Of([]));
    }

    [Fact]
    public void A_slow_round_slows_both_sides_of_its_own_ratio()
    {
        // Round 2 ran while the machine was busy: both engines took three times as long. Round 3 was slow for the peer only.
        var report = Report(ours: [1, 3, 3], peer: [2, 6, 2]);
        var ratio = report.Ratio(EngineWorker.OursInt8, EngineWorker.OrtExport, Workloads.Docs)!;
        // Per round: 2, 2 and 2/3; the ratio of the median passes would say 2/3.
        Assert.Equal(2, ratio.Median, 9);
        Assert.Equal(2.0 / 3, ratio.Min, 9);
        Assert.Equal(2, ratio.Max, 9);
    }

    [Fact]
    public void Rounds_the_peer_missed_do_not_count()
    {
        var report = Report(ours: [1, 1, 4], peer: [2, 3]);
        var ratio = report.Ratio(EngineWorker.OursInt8, EngineWorker.OrtExport, Workloads.Docs)!;
        Assert.Equal(new Spread(2.5, 2, 3), ratio);
    }

    [Fact]
    public void Summary_keeps_the_old_keys_as_medians_and_adds_their_range()
    {
        var summary = Report(ours: [1, 3, 3], peer: [2, 6, 2]).Summary();
        Assert.Equal(2, summary["int8_vs_ort_export_docs"]);
        Assert.Equal(0.6667, summary["int8_vs_ort_export_docs_min"]);
        Assert.Equal(2, summary["int8_vs_ort_export_docs_max"]);
        Assert.Null(summary["fp32_vs_ort_export"]);
        Assert.Contains("int8_min_dense_cosine", summary.Keys);
    }

    private static BenchReport Report(double[] ours, double[] peer)
    {
        var report = new BenchReport
        {
            Machine = new MachineDescription("test", 2, 2, 1, "test", "test", "test", ""),
            Rounds = 3,
            Checkpoint = "test",
            Workloads = new() { [Workloads.Docs] = new WorkloadInfo(2, 1000, 400, 600, 16, 4096) },
        };
        foreach (var (engine, seconds) in new[] { (EngineWorker.OursInt8, ours), (EngineWorker.OrtExport, peer) })
        {
            var result = new EngineResult { Engine = engine };
            result.Workloads[Workloads.Docs] = new Throughput(2, 1000, 1000, seconds, 1e12);
            report.Engines[engine] = result;
        }
        return report;
    }
}

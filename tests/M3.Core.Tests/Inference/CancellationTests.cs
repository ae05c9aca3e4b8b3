using M3.Core.Inference;
using M3.Extensions.AI;
using Microsoft.Extensions.AI;

namespace M3.Core.Tests.Inference;

/// <summary>A cancelled encode stops with <see cref="OperationCanceledException"/> instead of running to the end.</summary>
public sealed class CancellationTests(EncoderFixture fixture) : IClassFixture<EncoderFixture>
{
    // One text per forward pass, many passes: long enough that running to the end would be visible in the progress count.
    private static readonly M3EncodeOptions OneTextPerPass = new() { BatchSize = 1 };

    private IReadOnlyList<string> ManyTexts =>
        Enumerable.Repeat(fixture.Golden.Items.Select(i => i.Text), 4).SelectMany(t => t).ToList();

    private IReadOnlyList<string> LongTexts => Enumerable.Repeat(string.Join(" ", fixture.Golden.Items.Select(i => i.Text)), 200).ToList();

    [Fact]
    public void Encode_cancelled_between_forward_passes_throws_and_runs_no_further_pass()
    {
        var texts = ManyTexts;
        using var cts = new CancellationTokenSource();
        var done = 0;
        var progress = new SyncProgress(n =>
        {
            done += n;
            if (done == 3) cts.Cancel();
        });
        Assert.Throws<OperationCanceledException>(() => fixture.Encoder.Encode(texts, OneTextPerPass, progress, cts.Token));
        Assert.Equal(3, done);
    }

    [Fact]
    public void Encode_cancelled_from_another_thread_during_a_long_encode_ends_with_cancellation()
    {
        // One maximum-length text after another: the token fires while a forward pass runs or between two, and either way the
        // call ends with the cancellation rather than the results.
        var texts = LongTexts;
        using var cts = new CancellationTokenSource();
        var started = new SyncProgress(_ => cts.CancelAfter(TimeSpan.FromMilliseconds(20)));
        Assert.Throws<OperationCanceledException>(() => fixture.Encoder.Encode(texts, OneTextPerPass, started, cts.Token));
        // The encoder still works after a terminated run.
        Assert.NotNull(fixture.Encoder.Encode(["still working"])[0].Dense);
    }

    [Fact]
    public void Encode_with_an_already_cancelled_token_runs_nothing()
    {
        var ran = false;
        Assert.Throws<OperationCanceledException>(() =>
            fixture.Encoder.Encode(["a", "b"], null, new SyncProgress(_ => ran = true), new CancellationToken(canceled: true)));
        Assert.False(ran);
    }

    [Fact]
    public async Task Embedding_generator_passes_its_token_to_the_encoder()
    {
        // Cancelled after the work has started: only a token that reaches the encoder stops it.
        using var generator = new M3EmbeddingGenerator(fixture.Encoder, options: OneTextPerPass);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(LongTexts, cancellationToken: cts.Token));
    }

    /// <summary>Reports on the encoding thread at once (Progress&lt;T&gt; would post to the thread pool, after the fact).</summary>
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}

using FluentAssertions;
using SpatialNet.Training.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

public class BatchSourceTests
{
    private static long[] Values(IReadOnlyDictionary<string, Tensor> batch, string key) => batch[key].to(ScalarType.Int64).data<long>().ToArray();

    [Fact]
    public void InMemory_ShuffledEpoch_CoversEverySampleOnce_AndResumesAtAnyBatch()
    {
        var source = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["i"] = arange(10L), ["x"] = arange(10L).to(ScalarType.Float32) * 2 }, batchSize: 4, seed: 7);
        source.BatchesPerEpoch.Should().Be(3);
        var epoch0 = source.GetBatches(0).Select(b => Values(b, "i")).ToList();
        epoch0.Select(b => b.Length).Should().Equal(4, 4, 2);
        epoch0.SelectMany(b => b).Should().BeEquivalentTo(Enumerable.Range(0, 10).Select(i => (long)i));
        source.GetBatches(0).Select(b => Values(b, "i")).Should().BeEquivalentTo(epoch0, o => o.WithStrictOrdering(), "same epoch, same order");
        source.GetBatches(0, startBatch: 1).Select(b => Values(b, "i")).Should().BeEquivalentTo(epoch0.Skip(1), o => o.WithStrictOrdering());
        source.GetBatches(1).SelectMany(b => Values(b, "i")).Should().NotEqual(epoch0.SelectMany(b => b), "each epoch is reshuffled");
        // Entries stay aligned: x = 2·i.
        foreach (var b in source.GetBatches(2))
            Values(b, "x").Should().Equal(Values(b, "i").Select(v => 2 * v));
    }

    [Fact]
    public void InMemory_MismatchedSampleCounts_AreRejectedWithTheEntryName()
    {
        var act = () => new InMemoryBatchSource(new Dictionary<string, Tensor> { ["a"] = zeros(5), ["b"] = zeros(4) }, 2);
        act.Should().Throw<ArgumentException>().WithMessage("*'b'*4*5*");
    }

    [Fact]
    public void Interleaved_RoundRobin_AlternatesSources_AndResumesMidEpoch()
    {
        var a = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["a"] = arange(10L) }, 4, shuffle: false);
        var b = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["b"] = arange(4L) }, 2, shuffle: false);
        var mixed = new InterleavedBatchSource([a, b], InterleaveMode.RoundRobin);
        mixed.BatchesPerEpoch.Should().Be(5);
        mixed.Schedule(0).Should().Equal(0, 1, 0, 1, 0);

        var all = mixed.GetBatches(0).Select(x => (Key: x.Keys.Single(), First: Values(x, x.Keys.Single())[0])).ToList();
        all.Should().Equal(("a", 0L), ("b", 0L), ("a", 4L), ("b", 2L), ("a", 8L));
        mixed.GetBatches(0, startBatch: 3).Select(x => (Key: x.Keys.Single(), First: Values(x, x.Keys.Single())[0]))
            .Should().Equal(("b", 2L), ("a", 8L));
    }

    [Fact]
    public void Interleaved_Shuffled_IsSeededPerEpoch_AndKeepsEverySourcesBatchCount()
    {
        var a = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["a"] = arange(12L) }, 2, shuffle: false);
        var b = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["b"] = arange(6L) }, 2, shuffle: false);
        var mixed = new InterleavedBatchSource([a, b], InterleaveMode.Shuffled, seed: 1);
        var schedules = Enumerable.Range(0, 6).Select(mixed.Schedule).ToList();
        schedules.Should().OnlyContain(s => s.Count(i => i == 0) == 6 && s.Count(i => i == 1) == 3);
        schedules.Select(s => string.Join("", s)).Distinct().Count().Should().BeGreaterThan(1);
        mixed.Schedule(2).Should().Equal(new InterleavedBatchSource([a, b], InterleaveMode.Shuffled, seed: 1).Schedule(2));

        var full = mixed.GetBatches(2).Select(x => $"{x.Keys.Single()}{Values(x, x.Keys.Single())[0]}").ToList();
        full.Where(k => k.StartsWith('a')).Should().Equal("a0", "a2", "a4", "a6", "a8", "a10");
        mixed.GetBatches(2, startBatch: 4).Select(x => $"{x.Keys.Single()}{Values(x, x.Keys.Single())[0]}").Should().Equal(full.Skip(4));
    }
}

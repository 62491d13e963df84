using SpatialNet.Training.Batching;
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
}

using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Pipeline;

public class PrefetcherTests
{
    /// <summary>Batch i = {"i": [i], "kept": a tensor the source keeps}; counts MoveNext calls; may throw at one batch.</summary>
    private sealed class CountingSource(int batches, int? throwAt = null) : IBatchSource, IDisposable
    {
        private int _made;

        public Tensor Kept { get; } = ones(2).DetachFromDisposeScope();

        public List<Tensor> Made { get; } = [];

        public int MadeCount => Volatile.Read(ref _made);

        public int BatchesPerEpoch => batches;

        public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
        {
            for (int i = startBatch; i < batches; i++)
            {
                if (i == throwAt)
                    throw new InvalidDataException($"batch {i} is corrupt");
                // A temporary the source leaves in the scope, as sources may.
                _ = zeros(3);
                var t = torch.tensor(new long[] { epoch * 1000 + i });
                lock (Made)
                    Made.Add(t);
                Interlocked.Increment(ref _made);
                yield return new Dictionary<string, Tensor> { ["i"] = t, ["kept"] = Kept };
            }
        }

        public void Dispose() => Kept.Dispose();
    }

    [Fact]
    public void YieldsTheSameSequenceAsSequentialPreparation()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(9, CPU);
        using var images = torch.randint(0, 256, [23, 3, 6, 6], ScalarType.Byte, generator: generator);
        using var cache = new DeviceBatchCache(images, new Dictionary<string, Tensor> { ["label"] = arange(23, ScalarType.Int64) },
            new DeviceBatchCacheOptions { BatchSize = 5, Seed = 11, Mean = [0.4, 0.5, 0.6], Std = [0.2, 0.3, 0.25] });
        var prefetched = new Prefetcher(cache, depth: 2);
        prefetched.BatchesPerEpoch.Should().Be(5);
        foreach (var (epoch, start) in new[] { (0, 0), (1, 0), (1, 3) })
        {
            var sequential = cache.GetBatches(epoch, start).ToList();
            var ahead = prefetched.GetBatches(epoch, start).ToList();
            ahead.Should().HaveCount(sequential.Count);
            for (int b = 0; b < sequential.Count; b++)
            {
                ahead[b].Keys.Should().BeEquivalentTo(sequential[b].Keys);
                foreach (var key in sequential[b].Keys)
                    PipelineTensors.Same(ahead[b][key], sequential[b][key]).Should().BeTrue($"epoch {epoch}, batch {start + b}, '{key}'");
            }
        }
    }

    [Fact]
    public void BatchTensors_JoinTheConsumersScope_KeptTensorsAndTemporariesAreNotLeaked()
    {
        using var source = new CountingSource(6);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var seen = new List<Tensor>();
        foreach (var _ in Enumerable.Range(0, 2))
        {
            using var scope = NewDisposeScope();
            foreach (var batch in new Prefetcher(source).GetBatches(0))
            {
                batch["kept"].Should().BeSameAs(source.Kept);
                seen.Add(batch["i"]);
            }
        }
        seen.Select(t => t.IsInvalid).Should().AllBeEquivalentTo(true, "the consumer's scope owned and freed every batch");
        lock (source.Made)
            source.Made.Should().OnlyContain(t => t.IsInvalid, "the background thread freed its own handles");
        source.Kept.IsInvalid.Should().BeFalse("tensors the source keeps are passed through, not taken over");
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before, "each tensor is created and freed on one thread");
    }

    [Fact]
    public void AnErrorOfTheSource_IsRethrownByTheConsumer_AfterTheBatchesBeforeIt()
    {
        using var source = new CountingSource(5, throwAt: 2);
        using var scope = NewDisposeScope();
        var received = new List<long>();
        var act = () =>
        {
            foreach (var batch in new Prefetcher(source).GetBatches(0))
                received.Add(batch["i"].item<long>());
        };
        act.Should().Throw<InvalidDataException>().WithMessage("batch 2 is corrupt");
        received.Should().Equal(0, 1);
    }

    [Fact]
    public void StoppingEarly_StopsTheProducer_AndFreesTheBatchesMadeAhead()
    {
        using var source = new CountingSource(100);
        using (var scope = NewDisposeScope())
        {
            foreach (var batch in new Prefetcher(source, depth: 2).GetBatches(3).Take(2))
                batch["i"].item<long>().Should().BeLessThan(3002);
        }
        // Two consumed, at most depth + 1 made ahead (two queued, one waiting for room).
        source.MadeCount.Should().BeLessThanOrEqualTo(5);
        Thread.Sleep(50);
        source.MadeCount.Should().BeLessThanOrEqualTo(5, "the producer has stopped");
        lock (source.Made)
            source.Made.Should().OnlyContain(t => t.IsInvalid, "consumed batches went with the scope, the others were freed on stop");
    }
}

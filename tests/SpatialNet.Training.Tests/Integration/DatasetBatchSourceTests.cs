using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Transforms;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

public sealed class DatasetBatchSourceTests
{
    /// <summary>Sample i: a 4×4 image whose pixels are i·16 + position, "value" = i, "a" = i mod 2, "b" = 1 − i mod 2.</summary>
    private sealed class ImageDataset(string name, int count) : IDataset
    {
        public string Name { get; } = name;

        public int Count { get; } = count;

        public Sample GetSample(int index)
        {
            var s = new Sample();
            s.Set("image", (arange(16) + 16 * index).remainder(256).to(ScalarType.Byte).reshape(1, 4, 4));
            s.Set("value", tensor((long)index));
            s.Set("a", tensor((long)(index % 2)));
            s.Set("b", tensor((long)(1 - index % 2)));
            s.Set(SampleKeys.AllowGeometric, tensor(true));
            return s;
        }
    }

    private static long[] Values(IReadOnlyDictionary<string, Tensor> b) => b["value"].data<long>().ToArray();

    [Fact]
    public void StartingMidEpoch_GivesTheSameBatchesAndAugmentationAsTheFullEpoch()
    {
        using var flips = new RandomFlipRotate(seed: 9);
        var source = new DatasetBatchSource(new DataLoader(new ImageDataset("d", 10), 3, shuffle: true, seed: 4),
            new DatasetBatchPreparation { Transform = new BatchTransformPipeline(new ToFloat(), flips) }, augmentationSeed: 5);

        var full = source.GetBatches(2).Select(b => (Values(b), b["image"].clone())).ToList();
        var tail = source.GetBatches(2, startBatch: 2).Select(b => (Values(b), b["image"].clone())).ToList();

        source.BatchesPerEpoch.Should().Be(4);
        full.SelectMany(b => b.Item1).Should().BeEquivalentTo(Enumerable.Range(0, 10).Select(i => (long)i));
        tail.Should().HaveCount(2);
        for (int i = 0; i < 2; i++)
        {
            tail[i].Item1.Should().Equal(full[i + 2].Item1);
            tail[i].Item2.eq(full[i + 2].Item2).all().item<bool>().Should().BeTrue("augmentation is reseeded per (epoch, batch)");
        }
        full[0].Item2.dtype.Should().Be(ScalarType.Float32);
        // Flips and rotations only permute pixels: the sorted pixel values of each image are those of the sample.
        var first = full[0];
        for (int j = 0; j < first.Item1.Length; j++)
        {
            var original = (arange(16) + 16 * first.Item1[j]).remainder(256).to(ScalarType.Float32) / 255f;
            first.Item2[j].reshape(-1).sort().Values.allclose(original.sort().Values).Should().BeTrue();
        }
    }

    [Fact]
    public void Targets_AreStoredUnderTheTaskName_SeveralEntriesStackedAsFloat()
    {
        var source = new DatasetBatchSource(new DataLoader(new ImageDataset("d", 4), 4, shuffle: false),
            new DatasetBatchPreparation
            {
                Targets = new Dictionary<string, IReadOnlyList<string>> { ["parity"] = ["a"], ["both"] = ["a", "b"] },
            });

        var batch = source.GetBatches(0).Single();

        batch["parity"].data<long>().ToArray().Should().Equal(0, 1, 0, 1);
        batch["both"].dtype.Should().Be(ScalarType.Float32);
        batch["both"].shape.Should().Equal(4, 2);
        batch["both"].data<float>().ToArray().Should().Equal(0, 1, 1, 0, 0, 1, 1, 0);
    }

    [Fact]
    public void ATargetEntryMissingFromTheSamples_IsReportedWithTheTaskAndTheEntries()
    {
        var act = () => new DatasetBatchSource(new DataLoader(new ImageDataset("d", 4), 2),
            new DatasetBatchPreparation { Targets = new Dictionary<string, IReadOnlyList<string>> { ["count"] = ["count_building"] } });
        act.Should().Throw<ArgumentException>().WithMessage("*'count'*'count_building'*'d'*a, allow_geometric, b, image, value*");
    }

    [Fact]
    public void SeveralDatasets_AreInterleaved_AndEachBatchCarriesOnlyItsDatasetsTasks()
    {
        var loader = new MultiDatasetLoader([new ImageDataset("x", 8), new ImageDataset("y", 4)], [2, 1], batchSize: 2, seed: 3, batchesPerEpoch: 6);
        var source = new DatasetBatchSource(loader,
        [
            new DatasetBatchPreparation { Targets = new Dictionary<string, IReadOnlyList<string>> { ["task_x"] = ["a"] } },
            new DatasetBatchPreparation { Targets = new Dictionary<string, IReadOnlyList<string>> { ["task_y"] = ["b"] } },
        ]);

        var batches = source.GetBatches(0).Select(b => (X: b.ContainsKey("task_x"), Y: b.ContainsKey("task_y"))).ToList();
        var plan = source.Plan(0).Select(p => p.DatasetIndex).ToList();

        batches.Should().HaveCount(6);
        batches.Count(b => b.X).Should().Be(4);
        batches.Count(b => b.Y).Should().Be(2);
        batches.Should().OnlyContain(b => b.X != b.Y);
        batches.Select(b => b.X ? 0 : 1).Should().Equal(plan);
        source.GetBatches(0, startBatch: 3).Select(b => b.ContainsKey("task_x") ? 0 : 1).Should().Equal(plan.Skip(3));
    }
}

using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Data;

public sealed class CollationAndSamplingTests
{
    [Fact]
    public void Collation_stacks_equal_shapes_and_right_pads_token_sequences_with_zero()
    {
        var dataset = new ListDataset("list", 5);
        var samples = new[] { 0, 1, 2 }.Select(dataset.GetSample).ToList();

        using var batch = new BatchCollator().Collate(samples, "list");
        samples.ForEach(s => s.Dispose());

        batch.Size.Should().Be(3);
        batch.Source.Should().Be("list");
        batch["value"].data<long>().ToArray().Should().Equal(0, 1, 2);
        batch["tokens"].shape.Should().Equal(3, 3);
        batch["tokens"].data<long>().ToArray().Should().Equal(5, 0, 0, 5, 6, 0, 5, 6, 7);
    }

    [Fact]
    public void Collation_rejects_different_names_and_unstackable_shapes()
    {
        using var a = new Sample();
        a.Set("image", zeros(3, 4, 4, ScalarType.Byte));
        using var b = new Sample();
        b.Set("image", zeros(3, 4, 5, ScalarType.Byte));
        using var c = new Sample();
        c.Set("label", tensor(1L));

        FluentActions.Invoking(() => new BatchCollator().Collate([a, b])).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("'image'").And.Contain("[3, 4, 5]").And.Contain("ImageLoadOptions.Height/Width");
        FluentActions.Invoking(() => new BatchCollator().Collate([a, c])).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("Sample 1");
    }

    [Fact]
    public void Data_loader_visits_every_sample_once_per_epoch_in_a_seeded_order()
    {
        var loader = new DataLoader(new ListDataset("list", 10), batchSize: 4, shuffle: true, seed: 7);

        var epoch0 = loader.EpochIndices(0).ToList();
        var epoch1 = loader.EpochIndices(1).ToList();

        loader.BatchesPerEpoch.Should().Be(3);
        epoch0.Select(b => b.Length).Should().Equal(4, 4, 2);
        epoch0.SelectMany(b => b).Should().BeEquivalentTo(Enumerable.Range(0, 10));
        epoch1.SelectMany(b => b).Should().NotEqual(epoch0.SelectMany(b => b));
        new DataLoader(new ListDataset("list", 10), 4, true, seed: 7).EpochIndices(1).SelectMany(b => b)
            .Should().Equal(epoch1.SelectMany(b => b));

        var values = loader.Epoch(0).Select(batch => { using (batch) return batch["value"].data<long>().ToArray(); }).SelectMany(v => v);
        values.Should().Equal(epoch0.SelectMany(b => b).Select(i => (long)i));
        new DataLoader(new ListDataset("list", 10), 4, dropLast: true).BatchesPerEpoch.Should().Be(2);
    }

    [Fact]
    public void Multi_dataset_sampler_meets_the_proportions_exactly_each_epoch()
    {
        // 20 batches at 3 : 1 → 15 and 5 (largest remainder of 15.0 and 5.0).
        var sampler = new MultiDatasetSampler([100, 30], [3, 1], batchSize: 8, seed: 11, batchesPerEpoch: 20);

        var epoch = sampler.Epoch(0).ToList();

        sampler.BatchesPerDataset.Should().Equal(15, 5);
        epoch.Should().HaveCount(20);
        epoch.Count(b => b.DatasetIndex == 0).Should().Be(15);
        epoch.Count(b => b.DatasetIndex == 1).Should().Be(5);
        epoch.Should().OnlyContain(b => b.Indices.Length == 8);
        epoch.Where(b => b.DatasetIndex == 1).SelectMany(b => b.Indices).Should().OnlyContain(i => i >= 0 && i < 30);
        // 5 batches × 8 = 40 draws from a 30-sample dataset: the first 30 are one full permutation.
        epoch.Where(b => b.DatasetIndex == 1).SelectMany(b => b.Indices).Take(30).Should().BeEquivalentTo(Enumerable.Range(0, 30));
        // Interleaved, not blocked: dataset 1 does not only come last.
        epoch.Take(15).Should().Contain(b => b.DatasetIndex == 1);
        sampler.Epoch(0).Select(b => b.DatasetIndex).Should().Equal(epoch.Select(b => b.DatasetIndex));
        sampler.Epoch(1).Select(b => b.DatasetIndex).Should().NotEqual(epoch.Select(b => b.DatasetIndex));
    }

    [Fact]
    public void Largest_remainder_rounding_distributes_uneven_shares()
    {
        // 10 batches at 1 : 1 : 1 → 3.33 each; the one left over goes to the first (ties by index).
        new MultiDatasetSampler([5, 5, 5], [1, 1, 1], 2, batchesPerEpoch: 10).BatchesPerDataset.Should().Equal(4, 3, 3);
        // A zero proportion gets no batches.
        new MultiDatasetSampler([5, 5], [1, 0], 2, batchesPerEpoch: 4).BatchesPerDataset.Should().Equal(4, 0);
    }

    [Fact]
    public void Multi_dataset_loader_labels_each_batch_with_its_dataset()
    {
        var loader = new MultiDatasetLoader([new ListDataset("a", 6), new ListDataset("b", 4)], [0.5, 0.5], batchSize: 2, seed: 3);

        var sources = loader.Epoch(0).Select(batch => { using (batch) return batch.Source; }).ToList();

        sources.Should().HaveCount(5); // ⌈6/2⌉ + ⌈4/2⌉
        sources.Count(s => s == "a").Should().BeInRange(2, 3);
        sources.Should().Contain("b");
    }

    [Fact]
    public void Invalid_sampler_settings_are_rejected_with_the_values()
    {
        FluentActions.Invoking(() => new MultiDatasetSampler([10, 10], [1], 2)).Should().Throw<ArgumentException>().Which.Message.Should().Contain("2 datasets and 1 proportions");
        FluentActions.Invoking(() => new MultiDatasetSampler([10], [-1], 2)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new MultiDatasetSampler([0], [1], 2)).Should().Throw<ArgumentException>();
    }
}

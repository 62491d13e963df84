using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Pipeline;

public class DeviceBatchCacheTests
{
    private const int N = 10, C = 3, H = 4, W = 4;

    // Pixel values from a formula, so expected values are computed on the host without torch.
    private static byte Pixel(int n, int c, int i, int j) => (byte)((n * 53 + c * 29 + i * 7 + j * 3 + 11) % 256);

    private static Tensor Images()
    {
        var data = new byte[N * C * H * W];
        int k = 0;
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < W; j++)
                        data[k++] = Pixel(n, c, i, j);
        return torch.tensor(data, [N, C, H, W], ScalarType.Byte);
    }

    private static DeviceBatchCache Cache(AugmentationMode augmentation = AugmentationMode.FlipsAndRotations, int batchSize = 4,
        ulong seed = 3, IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        return new DeviceBatchCache(Images(), new Dictionary<string, Tensor> { ["label"] = arange(N, ScalarType.Int64) },
            new DeviceBatchCacheOptions { BatchSize = batchSize, Seed = seed, Augmentation = augmentation, Mean = mean, Std = std, OutputDType = dtype });
    }

    [Fact]
    public void Gather_ReturnsTheSourceImagesAtThoseIndices()
    {
        using var scope = NewDisposeScope();
        using var cache = Cache();
        int[] indices = [7, 0, 7, 9, 2];
        var gathered = cache.Gather(torch.tensor(indices.Select(i => (long)i).ToArray()));
        gathered.dtype.Should().Be(ScalarType.Byte);
        gathered.shape.Should().Equal(5, C, H, W);
        var values = gathered.data<byte>().ToArray();
        int k = 0;
        foreach (int n in indices)
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < W; j++)
                        values[k++].Should().Be(Pixel(n, c, i, j), $"sample {n}, channel {c}, pixel ({i}, {j})");
    }

    [Fact]
    public void PrepareBatch_ConvertsAndNormalisesPerChannel()
    {
        using var scope = NewDisposeScope();
        double[] mean = [0.5, 0.25, 0.0], std = [0.5, 0.25, 2.0];
        using var cache = Cache(AugmentationMode.None, mean: mean, std: std);
        var batch = cache.PrepareBatch(torch.tensor(new long[] { 4, 1 }));
        batch["label"].data<long>().ToArray().Should().Equal(4, 1);
        var x = batch["image"];
        x.dtype.Should().Be(ScalarType.Float32);
        var values = x.data<float>().ToArray();
        int k = 0;
        foreach (int n in new[] { 4, 1 })
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < W; j++)
                        values[k++].Should().BeApproximately((float)((Pixel(n, c, i, j) / 255.0 - mean[c]) / std[c]), 1e-5f);
    }

    [Fact]
    public void EpochBatches_CoverEverySampleOnce_AndEachImageIsADihedralTransformOfItsSource()
    {
        using var scope = NewDisposeScope();
        using var cache = Cache(batchSize: 4);
        cache.BatchesPerEpoch.Should().Be(3);
        var source = Images();
        var labels = new List<long>();
        var used = new HashSet<int>();
        foreach (var batch in cache.GetBatches(epoch: 0))
        {
            var ids = batch["label"].data<long>().ToArray();
            labels.AddRange(ids);
            // No normalisation: x·255 gives the uint8 values back exactly.
            var images = batch["image"].mul(255).round().to(ScalarType.Byte);
            for (int b = 0; b < ids.Length; b++)
            {
                var original = source[ids[b]];
                int match = Enumerable.Range(0, cache.Augmentation!.Transforms.Count).FirstOrDefault(t => PipelineTensors.Same(images[b], PipelineTensors.Dihedral(original, cache.Augmentation.Transforms[t])), -1);
                match.Should().BeGreaterThanOrEqualTo(0, $"sample {ids[b]} must be a flip/rotation of its source image");
                used.Add(match);
                // Hence a permutation of the sample's pixels: per channel the same multiset of values.
                PipelineTensors.Same(images[b].reshape(C, -1).sort(1).Values, original.reshape(C, -1).sort(1).Values).Should().BeTrue();
            }
        }
        labels.Should().HaveCount(N).And.OnlyHaveUniqueItems();
        labels.Should().NotEqual(Enumerable.Range(0, N).Select(i => (long)i), "the epoch is shuffled");
        used.Count.Should().BeGreaterThan(1, "transforms are drawn per sample");
    }

    [Fact]
    public void Batches_AreAFunctionOfSeedEpochAndBatch_SoRunsResumeAnywhere()
    {
        using var scope = NewDisposeScope();
        using var cache = Cache();
        var epoch1 = cache.GetBatches(1).ToList();
        var again = cache.GetBatches(1).ToList();
        var resumed = cache.GetBatches(1, startBatch: 1).ToList();
        for (int b = 0; b < epoch1.Count; b++)
            PipelineTensors.Same(again[b]["image"], epoch1[b]["image"]).Should().BeTrue();
        resumed.Should().HaveCount(epoch1.Count - 1);
        for (int b = 1; b < epoch1.Count; b++)
        {
            PipelineTensors.Same(resumed[b - 1]["image"], epoch1[b]["image"]).Should().BeTrue();
            PipelineTensors.Same(resumed[b - 1]["label"], epoch1[b]["label"]).Should().BeTrue();
        }
        var epoch2Labels = cache.GetBatches(2).SelectMany(b => b["label"].data<long>().ToArray()).ToArray();
        epoch2Labels.Should().NotEqual(epoch1.SelectMany(b => b["label"].data<long>().ToArray()), "each epoch draws its own order");
        using var otherSeed = Cache(seed: 4);
        otherSeed.GetBatches(1).SelectMany(b => b["label"].data<long>().ToArray())
            .Should().NotEqual(epoch1.SelectMany(b => b["label"].data<long>().ToArray()));
    }

    [Fact]
    public void SampleOrder_IsInMemoryBatchSourcesOrder_ForTheSameSeed()
    {
        using var scope = NewDisposeScope();
        using var cache = Cache(AugmentationMode.None, batchSize: 3, seed: 21);
        var reference = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["label"] = arange(N, ScalarType.Int64) }, batchSize: 3, seed: 21);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            cache.GetBatches(epoch).SelectMany(b => b["label"].data<long>().ToArray())
                .Should().Equal(reference.GetBatches(epoch).SelectMany(b => b["label"].data<long>().ToArray()), $"epoch {epoch}");
        }
    }

    [Fact]
    public void OutputDType_BFloat16_HoldsTheSameValuesRounded()
    {
        using var scope = NewDisposeScope();
        using var cache = Cache(AugmentationMode.None, dtype: ScalarType.BFloat16);
        var x = cache.PrepareBatch(torch.tensor(new long[] { 2 }))["image"];
        x.dtype.Should().Be(ScalarType.BFloat16);
        // bfloat16 keeps 8 significant bits: relative error ≤ 2⁻⁸.
        var expected = Images()[2].unsqueeze(0).to(ScalarType.Float32) / 255;
        x.to(ScalarType.Float32).allclose(expected, rtol: 1.0 / 256, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void Batches_JoinTheCallersScope_AndTheCacheLeavesNoOtherTensors()
    {
        using var cache = Cache();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Tensor image;
        using (var scope = NewDisposeScope())
        {
            foreach (var batch in cache.GetBatches(0))
                image = batch["image"];
            image = cache.GetBatches(0).First()["image"];
        }
        image.IsInvalid.Should().BeTrue("the caller's scope frees the batch");
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
    }

    [Fact]
    public void InvalidInput_IsRejectedWithTheFieldName()
    {
        using var scope = NewDisposeScope();
        var floatImages = () => new DeviceBatchCache(zeros(2, 3, 4, 4));
        floatImages.Should().Throw<ArgumentException>().WithMessage("*uint8 [N, C, H, W]*Float32*");
        var labels = () => new DeviceBatchCache(zeros(4, 3, 4, 4, ScalarType.Byte), new Dictionary<string, Tensor> { ["label"] = zeros(3) });
        labels.Should().Throw<ArgumentException>().WithMessage("*'label'*[3]*4*");
        var std = () => new DeviceBatchCache(zeros(4, 3, 4, 4, ScalarType.Byte), options: new DeviceBatchCacheOptions { Std = [1, 0, 1] });
        std.Should().Throw<ArgumentException>().WithMessage("*Std*3*> 0*");
        var mean = () => new DeviceBatchCache(zeros(4, 3, 4, 4, ScalarType.Byte), options: new DeviceBatchCacheOptions { Mean = [0.5] });
        mean.Should().Throw<ArgumentException>().WithMessage("*Mean*3*");
        var dtype = () => new DeviceBatchCache(zeros(4, 3, 4, 4, ScalarType.Byte), options: new DeviceBatchCacheOptions { OutputDType = ScalarType.Int32 });
        dtype.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Float32, BFloat16, Float16*OutputDType*");
        var dropLast = () => new DeviceBatchCache(zeros(4, 3, 4, 4, ScalarType.Byte), options: new DeviceBatchCacheOptions { BatchSize = 5, DropLast = true });
        dropLast.Should().Throw<ArgumentException>().WithMessage("*4 samples*5*DropLast*");
    }
}

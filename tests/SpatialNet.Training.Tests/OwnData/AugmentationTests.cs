using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Transforms;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary>Random resized crop and per-band jitter: invariants that hold for any draw, seeded reproducibility, the VQA rule.</summary>
public sealed class AugmentationTests
{
    private static Batch Images(Tensor images, bool[]? allow = null)
    {
        var batch = new Batch();
        batch.Set(SampleKeys.Image, images);
        if (allow is not null)
            batch.Set(SampleKeys.AllowGeometric, tensor(allow));
        return batch;
    }

    [Fact]
    public void Contrast_jitter_keeps_each_bands_mean_and_scales_its_spread_within_the_bound_brightness_shifts_the_mean_within_its_bound()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x = randn(6, 4, 8, 8);
        using var contrast = Images(x.clone());
        new RandomBandJitter(seed: 7, brightness: 0, contrast: 0.4).Apply(contrast);
        var y = contrast[SampleKeys.Image];
        // (x − μ)·κ + μ: the mean stays, the standard deviation is multiplied by κ ∈ [0.6, 1.4].
        y.mean([2, 3]).allclose(x.mean([2, 3]), rtol: 0, atol: 1e-5).Should().BeTrue();
        var ratio = y.std([2, 3]).div(x.std([2, 3]));
        ratio.min().item<float>().Should().BeGreaterThanOrEqualTo(0.6f - 1e-5f);
        ratio.max().item<float>().Should().BeLessThanOrEqualTo(1.4f + 1e-5f);
        ratio.std().item<float>().Should().BeGreaterThan(0.01f, "each sample and band draws its own factor");

        using var brightness = Images(x.clone());
        new RandomBandJitter(seed: 7, brightness: 0.5, contrast: 0).Apply(brightness);
        var z = brightness[SampleKeys.Image];
        var shift = z.sub(x);
        // x + δ: the same offset at every pixel of a band, |δ| ≤ 0.5.
        shift.amax([2, 3]).sub(shift.amin([2, 3])).abs().max().item<float>().Should().BeLessThan(1e-5f);
        shift.abs().max().item<float>().Should().BeLessThanOrEqualTo(0.5f + 1e-6f);

        using var again = Images(x.clone());
        new RandomBandJitter(seed: 7, brightness: 0, contrast: 0.4).Apply(again);
        again[SampleKeys.Image].allclose(y, rtol: 0, atol: 0).Should().BeTrue("the same seed draws the same factors");
    }

    [Fact]
    public void Random_resized_crop_keeps_the_size_leaves_protected_samples_and_constant_images_alone()
    {
        using var scope = NewDisposeScope();
        // Sample 0: a horizontal ramp 0..15; sample 1: a constant 3; sample 2: a ramp whose question forbids geometric transforms.
        var ramp = arange(16, ScalarType.Float32).view(1, 1, 16).expand(2, 16, 16);
        var x = stack([ramp, full([2, 16, 16], 3f), ramp]);
        using var batch = Images(x.clone(), [true, true, false]);

        new RandomResizedCrop(seed: 11, minScale: 0.3).Apply(batch);

        var y = batch[SampleKeys.Image];
        y.shape.Should().Equal(3, 2, 16, 16);
        y[1].allclose(full([2, 16, 16], 3f), rtol: 0, atol: 1e-5).Should().BeTrue("a resized crop of a constant image is that constant");
        y[2].allclose(x[2], rtol: 0, atol: 0).Should().BeTrue("the VQA rule protects it");
        // A crop of a ramp resized back is still a ramp within the original range, and narrower than the whole when cropped.
        var row = y[0, 0, 5];
        row.diff().min().item<float>().Should().BeGreaterThanOrEqualTo(-1e-4f);
        row.min().item<float>().Should().BeGreaterThanOrEqualTo(-1e-4f);
        row.max().item<float>().Should().BeLessThanOrEqualTo(15 + 1e-4f);
    }

    [Fact]
    public void Crops_are_refused_for_rsvqa_sources()
    {
        var configuration = SpatialNetConfiguration.FromJson("""
            { "tasks": [ { "name": "vqa", "kind": "vqa" } ],
              "data": { "crop_scale": 0.5, "sources": [ { "kind": "rsvqa", "path": "/data/rsvqa", "targets": { "vqa": "answer" } } ] } }
            """);
        FluentActions.Invoking(() => TrainingRunOptions.Bind(configuration)).Should().Throw<ConfigurationException>()
            .Which.Message.Should().Contain("data:crop_scale = 0.5").And.Contain("rsvqa");
    }
}

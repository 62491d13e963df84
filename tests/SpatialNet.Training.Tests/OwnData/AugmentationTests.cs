using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Randomness;
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

    // Two 1×4×4 images, all 1 and all 5, labelled 0 and 2 of 3 classes, each paired with the other.
    private static Batch Pair()
    {
        var batch = Images(stack([full([1, 4, 4], 1f), full([1, 4, 4], 5f)]));
        batch.Set("scene", tensor(new long[] { 0, 2 }));
        return batch;
    }

    private static readonly KeyValuePair<string, int>[] Scene = [new("scene", 3)];

    [Fact]
    public void Mixup_blends_images_and_one_hot_targets_with_lambda()
    {
        using var scope = NewDisposeScope();
        using var batch = Pair();

        MixupCutMix.Mixup(batch, SampleKeys.Image, Scene, [1, 0], lambda: 0.25);

        // 0.25·1 + 0.75·5 = 4; 0.25·5 + 0.75·1 = 2.
        batch[SampleKeys.Image].allclose(stack([full([1, 4, 4], 4f), full([1, 4, 4], 2f)]), rtol: 0, atol: 1e-6).Should().BeTrue();
        batch["scene"].allclose(tensor(new float[,] { { 0.25f, 0, 0.75f }, { 0.75f, 0, 0.25f } }), rtol: 0, atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void Cutmix_box_follows_yun_et_al_and_pastes_the_partners_pixels_with_the_area_lambda()
    {
        // λ = 0.64: √(1 − λ) = 0.6, sides ⌊10·0.6⌋ = 6; centre (y 5, x 2): rows 5 ± 3 = [2, 8), columns 2 ± 3 clipped = [0, 5).
        MixupCutMix.CutBox(10, 10, 0.64, centreY: 5, centreX: 2).Should().Be((2, 0, 8, 5));

        using var scope = NewDisposeScope();
        using var batch = Pair();
        MixupCutMix.CutMix(batch, SampleKeys.Image, Scene, [1, 0], (Top: 0, Left: 1, Bottom: 2, Right: 3));

        // The 2×2 box (4 of 16 pixels) comes from the partner: λ = 1 − 4/16 = 0.75.
        var inBox = zeros([4, 4], ScalarType.Bool);
        inBox[TensorIndex.Slice(0, 2), TensorIndex.Slice(1, 3)] = tensor(true);
        var expected0 = where(inBox, full([4, 4], 5f), full([4, 4], 1f)).unsqueeze(0);
        var expected1 = where(inBox, full([4, 4], 1f), full([4, 4], 5f)).unsqueeze(0);
        batch[SampleKeys.Image].allclose(stack([expected0, expected1]), rtol: 0, atol: 0).Should().BeTrue();
        batch["scene"].allclose(tensor(new float[,] { { 0.75f, 0, 0.25f }, { 0.25f, 0, 0.75f } }), rtol: 0, atol: 1e-6).Should().BeTrue();
    }

    [Theory]
    [InlineData(0.4)]
    [InlineData(2.0)]
    public void Lambda_draws_have_the_beta_distributions_mean_and_variance(double alpha)
    {
        var random = new SeededRandom(5);
        var draws = Enumerable.Range(0, 20000).Select(_ => MixupCutMix.SampleBeta(random, alpha)).ToArray();
        double mean = draws.Average(), variance = draws.Select(d => (d - mean) * (d - mean)).Average();

        // Beta(α, α): mean ½, variance 1 / (4·(2α + 1)).
        draws.Should().OnlyContain(d => d >= 0 && d <= 1);
        mean.Should().BeApproximately(0.5, 0.01);
        variance.Should().BeApproximately(1 / (4 * (2 * alpha + 1)), 0.005);
    }

    [Fact]
    public void Mixing_repeats_with_the_seed_and_probability_zero_leaves_the_batch_alone()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var x = randn(8, 2, 6, 6);
        var labels = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        Tensor[] Mix(ulong seed, double probability)
        {
            using var batch = Images(x.clone());
            batch.Set("scene", labels.clone());
            var t = new MixupCutMix(seed: 1, mixupAlpha: 0.4, cutmixAlpha: 1.0, probability, new Dictionary<string, int> { ["scene"] = 3 });
            t.Reseed(seed);
            t.Apply(batch);
            return [batch[SampleKeys.Image].clone(), batch["scene"].clone()];
        }

        var first = Mix(9, 1);
        var again = Mix(9, 1);
        again[0].allclose(first[0], rtol: 0, atol: 0).Should().BeTrue("the same seed mixes the same way");
        again[1].allclose(first[1], rtol: 0, atol: 0).Should().BeTrue();
        first[0].allclose(x, rtol: 0, atol: 0).Should().BeFalse("a mixed batch differs");
        first[1].sum(1).allclose(ones(8), rtol: 0, atol: 1e-6).Should().BeTrue("mixed targets are probabilities");
        Enumerable.Range(10, 6).Select(s => Mix((ulong)s, 1)[1]).Any(t => !t.allclose(first[1], rtol: 0, atol: 0)).Should().BeTrue("other seeds draw other mixes");

        var untouched = Mix(9, 0);
        untouched[0].allclose(x, rtol: 0, atol: 0).Should().BeTrue();
        untouched[1].allclose(labels, rtol: 0, atol: 0).Should().BeTrue();
    }

    [Theory]
    [InlineData("mixup_alpha")]
    [InlineData("cutmix_alpha")]
    public void Mixing_is_refused_for_rsvqa_sources_and_other_task_kinds(string key)
    {
        var vqa = SpatialNetConfiguration.FromJson($$"""
            { "tasks": [ { "name": "vqa", "kind": "vqa" } ],
              "data": { "{{key}}": 0.5, "sources": [ { "kind": "rsvqa", "path": "/data/rsvqa", "targets": { "vqa": "answer" } } ] } }
            """);
        FluentActions.Invoking(() => TrainingRunOptions.Bind(vqa)).Should().Throw<ConfigurationException>()
            .Which.Message.Should().Contain($"data:{key} = 0.5").And.Contain("rsvqa").And.Contain("every task is classification");

        var regression = SpatialNetConfiguration.FromJson($$"""
            { "tasks": [ { "name": "scene", "kind": "classification", "target": "label" }, { "name": "height", "kind": "regression", "target": "count" } ],
              "data": { "{{key}}": 0.5, "sources": [ { "kind": "synthetic" } ] } }
            """);
        FluentActions.Invoking(() => TrainingRunOptions.Bind(regression)).Should().Throw<ConfigurationException>()
            .Which.Message.Should().Contain($"data:{key} = 0.5").And.Contain("'height'");
    }
}

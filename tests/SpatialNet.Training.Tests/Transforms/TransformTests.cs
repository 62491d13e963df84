using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Transforms;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Transforms;

public sealed class TransformTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Tensor Grid(int batch = 2) => arange(batch * 2 * 3 * 3, ScalarType.Float32).reshape(batch, 2, 3, 3);

    private static Batch BatchOf(Tensor image, bool[]? allow = null)
    {
        var batch = new Batch { Size = (int)image.shape[0] };
        batch.Set(SampleKeys.Image, image);
        if (allow is not null) batch.Set(SampleKeys.AllowGeometric, tensor(allow));
        return batch;
    }

    [Fact]
    public void Flips_and_rotations_match_hand_computed_2x2_results()
    {
        // [[1, 2], [3, 4]]: horizontal flip [[2, 1], [4, 3]]; vertical flip [[3, 4], [1, 2]];
        // rot90 counter-clockwise (torch.rot90 over H, W) [[2, 4], [1, 3]].
        using var x = tensor(new float[] { 1, 2, 3, 4 }).reshape(1, 1, 2, 2);
        using var yes = tensor(new[] { true });
        using var no = tensor(new[] { false });

        GeometricOps.Apply(x, yes, no, tensor(new[] { 0L })).data<float>().ToArray().Should().Equal(2, 1, 4, 3);
        GeometricOps.Apply(x, no, yes, tensor(new[] { 0L })).data<float>().ToArray().Should().Equal(3, 4, 1, 2);
        GeometricOps.Apply(x, no, no, tensor(new[] { 1L })).data<float>().ToArray().Should().Equal(2, 4, 1, 3);
        GeometricOps.Apply(x, no, no, tensor(new[] { 2L })).data<float>().ToArray().Should().Equal(4, 3, 2, 1);
    }

    [Fact]
    public void Flipping_twice_and_rotating_four_times_are_identities()
    {
        using var x = Grid();
        var yes = tensor(new[] { true, true });
        var no = tensor(new[] { false, false });
        var quarter = tensor(new[] { 1L, 1L });
        var none = tensor(new[] { 0L, 0L });

        var twiceH = GeometricOps.Apply(GeometricOps.Apply(x, yes, no, none), yes, no, none);
        var twiceV = GeometricOps.Apply(GeometricOps.Apply(x, no, yes, none), no, yes, none);
        var fourTurns = x;
        for (var i = 0; i < 4; i++) fourTurns = GeometricOps.Apply(fourTurns, no, no, quarter);

        Same(twiceH, x).Should().BeTrue();
        Same(twiceV, x).Should().BeTrue();
        Same(fourTurns, x).Should().BeTrue();
        Same(GeometricOps.Apply(x, no, no, quarter), x).Should().BeFalse();
    }

    [Fact]
    public void Random_flip_rotate_is_seeded_and_applies_one_transform_per_sample_to_every_key()
    {
        Tensor Run(ulong seed)
        {
            using var transform = new RandomFlipRotate(seed, keys: [SampleKeys.Image, "mask"]);
            using var batch = BatchOf(Grid(8));
            batch.Set("mask", Grid(8)[.., 0]);
            transform.Apply(batch);
            // The mask had the same content as image band 0 and must have moved the same way.
            Same(batch["mask"], batch[SampleKeys.Image][.., 0]).Should().BeTrue();
            return batch.Take(SampleKeys.Image);
        }

        using var a = Run(42);
        using var b = Run(42);
        using var c = Run(43);
        Same(a, b).Should().BeTrue();
        Same(a, c).Should().BeFalse();
    }

    [Fact]
    public void Samples_whose_question_mentions_a_position_are_left_untouched()
    {
        using var original = Grid(4);
        // Always flip both ways: any allowed sample changes, any forbidden one must not.
        using var transform = new RandomFlipRotate(1, horizontalFlip: 1, verticalFlip: 1, rotate90: false);
        using var batch = BatchOf(original.clone(), [true, false, true, false]);

        transform.Apply(batch);

        var result = batch[SampleKeys.Image];
        Same(result[1], original[1]).Should().BeTrue();
        Same(result[3], original[3]).Should().BeTrue();
        Same(result[0], original[0].flip(-1, -2)).Should().BeTrue();
    }

    [Theory]
    [InlineData("Is there a road on the left side?", false)]
    [InlineData("Is there a building in the TOP part of the image?", false)]
    [InlineData("Is the number of roads at the bottom equal to 3", false)]
    [InlineData("What is to the right of the river?", false)]
    [InlineData("Is there a stop sign?", true)]
    [InlineData("Is the area bright?", true)]
    [InlineData("How many water areas are there?", true)]
    public void Vqa_rule_forbids_geometric_transforms_for_position_words(string question, bool allowed)
    {
        VqaAugmentationRule.AllowsGeometric(question).Should().Be(allowed);
    }

    [Fact]
    public void Random_flip_rotate_produces_all_eight_dihedral_transforms()
    {
        // The 2×2 image [[0, 1], [2, 3]] written row-major, and its 8 images under the dihedral group, listed by hand:
        // identity, 90°, 180°, 270° (counter-clockwise), and the four reflections.
        string[] expected = ["0123", "1302", "3210", "2031", "1032", "2301", "0213", "3120"];
        using var transform = new RandomFlipRotate(5);
        var seen = new HashSet<string>();
        for (int round = 0; round < 8 && seen.Count < 8; round++)
        {
            using var batch = BatchOf(arange(4, ScalarType.Float32).reshape(1, 1, 2, 2).expand(64, 1, 2, 2).contiguous());
            transform.Apply(batch);
            var values = batch[SampleKeys.Image].reshape(64, 4).data<float>().ToArray();
            for (int i = 0; i < 64; i++)
                seen.Add(string.Concat(values.Skip(4 * i).Take(4).Select(v => (int)v)));
        }

        seen.Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void Random_flip_rotate_draws_the_eight_transforms_equally_often()
    {
        // Flips with p = 0.5 and a uniform quarter turn give each of the 8 transforms p = 1/8: 512 of 4096
        // (σ ≈ 21). Turns of 0–2 only would still reach all 8 through flips, but at 2/24 and 4/24 (341 and 683).
        using var transform = new RandomFlipRotate(11);
        var counts = new Dictionary<string, int>();
        for (int round = 0; round < 64; round++)
        {
            using var batch = BatchOf(arange(4, ScalarType.Float32).reshape(1, 1, 2, 2).expand(64, 1, 2, 2).contiguous());
            transform.Apply(batch);
            var values = batch[SampleKeys.Image].reshape(64, 4).data<float>().ToArray();
            for (int i = 0; i < 64; i++)
            {
                var key = string.Concat(values.Skip(4 * i).Take(4).Select(v => (int)v));
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }

        counts.Should().HaveCount(8);
        counts.Values.Should().OnlyContain(c => c > 512 - 85 && c < 512 + 85, "each transform is drawn with p = 1/8 (4σ band)");
    }

    [Fact]
    public void Generator_state_restores_the_same_draws()
    {
        using var transform = new RandomFlipRotate(9);
        using (var warmup = BatchOf(Grid(8))) transform.Apply(warmup);
        var state = transform.GetState(CPU);
        using var first = BatchOf(Grid(8));
        transform.Apply(first);

        transform.SetState(CPU, state);
        using var again = BatchOf(Grid(8));
        transform.Apply(again);

        Same(again[SampleKeys.Image], first[SampleKeys.Image]).Should().BeTrue();
    }

    [Fact]
    public void Normalize_divides_uint8_by_255_then_standardises_per_band()
    {
        // Band 0: 255 → 1.0 → (1 − 0.5)/0.25 = 2. Band 1: 51 → 0.2 → (0.2 − 0.2)/0.1 = 0.
        using var batch = BatchOf(tensor(new byte[] { 255, 51 }).reshape(1, 2, 1, 1));

        new Normalize([0.5, 0.2], [0.25, 0.1]).Apply(batch);

        var values = batch[SampleKeys.Image].data<float>().ToArray();
        values[0].Should().BeApproximately(2f, 1e-6f);
        values[1].Should().BeApproximately(0f, 1e-6f);
        FluentActions.Invoking(() => new Normalize(new NormalizationStatistics([0.5], [0.2])).Apply(batch))
            .Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("2 bands");
    }

    [Fact]
    public void Resize_and_to_float_change_size_and_type_on_the_batch()
    {
        using var batch = BatchOf(full(2, 3, 8, 8, (byte)200, ScalarType.Byte));

        new BatchTransformPipeline(new Resize(4, 4), new ToFloat()).Apply(batch);

        var image = batch[SampleKeys.Image];
        image.shape.Should().Equal(2, 3, 4, 4);
        image.dtype.Should().Be(ScalarType.Float32);
        image.max().item<float>().Should().BeApproximately(200f / 255f, 1e-6f);
        image.min().item<float>().Should().BeApproximately(200f / 255f, 1e-6f);
    }

    [Fact]
    public void Every_flip_and_rotation_combination_matches_torch_flip_then_rot90_per_sample()
    {
        // Reference: torch's own flip and rot90, applied in the documented order (W flip, H flip, k turns),
        // sample by sample. 16 combinations, one per sample, on [B, C, H, W] and on a mask [B, H, W].
        var combos = (from h in new[] { false, true } from v in new[] { false, true } from k in new long[] { 0, 1, 2, 3 } select (h, v, k)).ToArray();
        int n = combos.Length;
        using var images = arange(n * 2 * 4 * 4, ScalarType.Float32).reshape(n, 2, 4, 4);
        using var mask = arange(n * 4 * 4, ScalarType.Int64).reshape(n, 4, 4);
        var hs = tensor(combos.Select(c => c.h).ToArray());
        var vs = tensor(combos.Select(c => c.v).ToArray());
        var ks = tensor(combos.Select(c => c.k).ToArray());

        var got = GeometricOps.Apply(images, hs, vs, ks);
        var gotMask = GeometricOps.Apply(mask, hs, vs, ks);

        for (int i = 0; i < n; i++)
        {
            var (h, v, k) = combos[i];
            Tensor Expected(Tensor x)
            {
                var e = x[i];
                int d = (int)e.dim();
                if (h) e = e.flip(d - 1);
                if (v) e = e.flip(d - 2);
                return k == 0 ? e : e.rot90(k, (d - 2, d - 1));
            }
            Same(got[i], Expected(images)).Should().BeTrue($"h={h} v={v} k={k}");
            Same(gotMask[i], Expected(mask)).Should().BeTrue($"mask h={h} v={v} k={k}");
        }
    }

    [Fact]
    public void Non_square_images_allow_flips_and_half_turns()
    {
        // [[1, 2, 3], [4, 5, 6]] turned by 180° is [[6, 5, 4], [3, 2, 1]]; flipped both ways it is the same.
        using var x = tensor(new float[] { 1, 2, 3, 4, 5, 6 }).reshape(1, 1, 2, 3);
        GeometricOps.Apply(x, tensor(new[] { false }), tensor(new[] { false }), tensor(new[] { 2L })).data<float>().ToArray().Should().Equal(6, 5, 4, 3, 2, 1);
        GeometricOps.Apply(x, tensor(new[] { true }), tensor(new[] { true }), tensor(new[] { 0L })).data<float>().ToArray().Should().Equal(6, 5, 4, 3, 2, 1);
        GeometricOps.Apply(x, tensor(new[] { false }), tensor(new[] { true }), tensor(new[] { 0L })).data<float>().ToArray().Should().Equal(4, 5, 6, 1, 2, 3);
        // A vertical flip plus a quarter turn is an odd number of turns: refused.
        FluentActions.Invoking(() => GeometricOps.Apply(x, tensor(new[] { false }), tensor(new[] { true }), tensor(new[] { 1L })))
            .Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Random_rotations_of_non_square_images_are_refused_on_every_batch_while_flips_work()
    {
        // Whatever the seed draws, the refusal does not depend on luck.
        for (ulong seed = 0; seed < 4; seed++)
        {
            using var rotating = new RandomFlipRotate(seed);
            using var batch = BatchOf(zeros(2, 1, 2, 3));
            FluentActions.Invoking(() => rotating.Apply(batch)).Should().Throw<InvalidOperationException>()
                .Which.Message.Should().Contain("[2, 1, 2, 3]").And.Contain("rotate90: false");
        }
        using var flipping = new RandomFlipRotate(1, rotate90: false);
        using var ok = BatchOf(arange(12, ScalarType.Float32).reshape(2, 1, 2, 3));
        flipping.Apply(ok);
        ok[SampleKeys.Image].shape.Should().Equal(2, 1, 2, 3);
    }

    [Fact]
    public void Device_transfer_keeps_tensors_already_there_and_tells_devices_apart_by_type_and_index()
    {
        using var x = ones(2, 3);
        ReferenceEquals(SpatialNet.Training.Devices.DeviceTransfer.To(x, CPU), x).Should().BeTrue();
        SpatialNet.Training.Devices.DeviceTransfer.IsOn(x, CPU).Should().BeTrue();
        SpatialNet.Training.Devices.DeviceTransfer.IsOn(x, new Device(TorchSharp.DeviceType.CUDA, 0)).Should().BeFalse();
        using var meta = SpatialNet.Training.Devices.DeviceTransfer.To(x, META);
        meta.device_type.Should().Be(TorchSharp.DeviceType.META);
        meta.shape.Should().Equal(2, 3);
    }

    [Fact]
    public void Normalize_gives_the_same_hand_computed_values_on_every_batch_and_after_dispose()
    {
        // Band 0: (0.5 − 0.25)/0.5 = 0.5; band 1: (0.5 − 0.75)/0.25 = −1.
        using var normalize = new Normalize([0.25, 0.75], [0.5, 0.25]);
        for (int round = 0; round < 3; round++)
        {
            using var batch = BatchOf(full(1, 2, 2, 2, 0.5f));
            normalize.Apply(batch);
            var values = batch[SampleKeys.Image].data<float>().ToArray();
            values.Take(4).Should().OnlyContain(v => Math.Abs(v - 0.5f) < 1e-6f);
            values.Skip(4).Should().OnlyContain(v => Math.Abs(v + 1f) < 1e-6f);
            if (round == 1)
                normalize.Dispose();   // frees the cached constants; the next batch makes them again
        }
    }

    [Fact]
    public void Rotation_of_non_square_images_is_refused_with_the_shape()
    {
        using var batch = BatchOf(zeros(1, 1, 2, 3));

        FluentActions.Invoking(() => GeometricOps.Apply(batch[SampleKeys.Image], tensor(new[] { false }), tensor(new[] { false }), tensor(new[] { 1L })))
            .Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("[1, 1, 2, 3]");
    }
}

using SpatialNet.Training.Transforms;
using FluentAssertions;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Pipeline;

public class DihedralAugmentationTests
{
    // Distinct values per pixel and channel, so any misplaced pixel shows.
    private static Tensor Ramp(long b, long c, long h, long w) => arange(b * c * h * w, ScalarType.Int64).reshape(b, c, h, w).to(ScalarType.Byte);

    [Fact]
    public void SquareImages_AllowAllEightTransforms_AndEachMatchesTorchFlipAndRot90()
    {
        using var scope = NewDisposeScope();
        using var aug = new DihedralAugmentation(4, 4, CPU);
        aug.Transforms.Should().HaveCount(8);
        aug.Transforms.Distinct().Should().HaveCount(8);
        var images = Ramp(8, 2, 4, 4);
        // Sample i gets transform i.
        var result = aug.Apply(images, arange(8L));
        for (int i = 0; i < 8; i++)
        {
            var expected = PipelineTensors.Dihedral(images[i], aug.Transforms[i]);
            PipelineTensors.Same(result[i], expected).Should().BeTrue($"transform {aug.Transforms[i]}");
        }
    }

    [Fact]
    public void NonSquareImages_AllowOnlyShapeKeepingTransforms_AndMatchTorch()
    {
        using var scope = NewDisposeScope();
        using var aug = new DihedralAugmentation(3, 5, CPU);
        aug.Transforms.Should().BeEquivalentTo(new[]
        {
            new DihedralTransform(false, 0), new DihedralTransform(false, 2),
            new DihedralTransform(true, 0), new DihedralTransform(true, 2),
        });
        var images = Ramp(4, 3, 3, 5);
        var result = aug.Apply(images, arange(4L));
        for (int i = 0; i < 4; i++)
            PipelineTensors.Same(result[i], PipelineTensors.Dihedral(images[i], aug.Transforms[i])).Should().BeTrue($"transform {aug.Transforms[i]}");
        var act = () => new DihedralTransform(false, 1).SourceIndexMap(3, 5);
        act.Should().Throw<ArgumentException>().WithMessage("*square*3×5*");
    }

    [Fact]
    public void FlipTwice_And_FourQuarterTurns_AreTheIdentity()
    {
        using var scope = NewDisposeScope();
        using var aug = new DihedralAugmentation(5, 5, CPU);
        var images = Ramp(3, 3, 5, 5);
        int flip = aug.Transforms.ToList().IndexOf(new DihedralTransform(true, 0));
        int quarter = aug.Transforms.ToList().IndexOf(new DihedralTransform(false, 1));
        var flips = full(3, (long)flip, ScalarType.Int64);
        PipelineTensors.Same(aug.Apply(aug.Apply(images, flips), flips), images).Should().BeTrue();
        PipelineTensors.Same(aug.Apply(images, flips), images).Should().BeFalse("a flip of a ramp changes it");

        var turns = full(3, (long)quarter, ScalarType.Int64);
        var x = images;
        for (int k = 0; k < 4; k++)
            x = aug.Apply(x, turns);
        PipelineTensors.Same(x, images).Should().BeTrue();
    }

    [Fact]
    public void EveryTransform_IsAPermutationOfThePixels()
    {
        foreach (var (h, w) in new[] { (4, 4), (3, 5) })
        {
            using var aug = new DihedralAugmentation(h, w, CPU);
            foreach (var t in aug.Transforms)
            {
                var map = t.SourceIndexMap(h, w);
                map.Order().Should().Equal(Enumerable.Range(0, h * w).Select(i => (long)i), $"{t} on {h}×{w}");
            }
        }
    }

    [Fact]
    public void Draw_IsUniformOverTheAllowedTransforms_AndSeeded()
    {
        using var aug = new DihedralAugmentation(4, 4, CPU);
        var a = aug.Draw(new SeededRandom(5), 4000);
        aug.Draw(new SeededRandom(5), 4000).Should().Equal(a, "same seed, same draws");
        var counts = a.GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
        counts.Keys.Should().BeEquivalentTo(Enumerable.Range(0, 8).Select(i => (long)i));
        // 500 expected per transform; 5 standard deviations ≈ 5·√(4000·⅛·⅞) ≈ 105.
        counts.Values.Should().OnlyContain(n => Math.Abs(n - 500) < 105);
        using var rectangular = new DihedralAugmentation(3, 5, CPU);
        rectangular.Draw(new SeededRandom(6), 400).Distinct().Order().Should().Equal(0L, 1L, 2L, 3L);
    }

    [Fact]
    public void Apply_RejectsMismatchedShapes()
    {
        using var scope = NewDisposeScope();
        using var aug = new DihedralAugmentation(4, 4, CPU);
        var wrongSize = () => aug.Apply(zeros(2, 3, 4, 5, ScalarType.Byte), zeros(2, ScalarType.Int64));
        wrongSize.Should().Throw<ArgumentException>().WithMessage("*[B, …, 4, 4]*[2, 3, 4, 5]*");
        var wrongCount = () => aug.Apply(zeros(2, 3, 4, 4, ScalarType.Byte), zeros(3, ScalarType.Int64));
        wrongCount.Should().Throw<ArgumentException>().WithMessage("*[2]*[3]*");
    }
}

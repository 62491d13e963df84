using FluentAssertions;
using SpatialNet.Training.Inference;
using Xunit;

namespace SpatialNet.Training.Tests.Inference;

/// <summary>Blending overlapping dense windows into full-resolution rows.</summary>
public sealed class TaperedBlendTests
{
    private static float[] Constant(int channels, int window, params float[] perChannel) =>
        [.. Enumerable.Range(0, channels * window * window).Select(i => perChannel[i / (window * window)])];

    [Fact]
    public void The_taper_is_a_linear_ramp_over_the_overlap()
    {
        // Window 6, overlap 2: edge distances 0,1,2,2,1,0 → (d+1)/3 capped at 1.
        new TaperedBlend(10, 1, 6, 2).Taper.Should().Equal(1f / 3, 2f / 3, 1, 1, 2f / 3, 1f / 3);
        new TaperedBlend(10, 1, 4, 0).Taper.Should().Equal(1f, 1f, 1f, 1f);
    }

    [Fact]
    public void Overlapping_windows_blend_by_their_weights_and_single_cover_keeps_the_value()
    {
        // Scene 1×? : two 4×4 windows at x = 0 and x = 2 (overlap 2) with constants 1 and 4 in channel 0, 10 and 10 in channel 1.
        var blend = new TaperedBlend(6, 2, 4, 2);
        blend.Add(0, 0, Constant(2, 4, 1, 10));
        blend.Add(2, 0, Constant(2, 4, 4, 10));
        var rows = new List<float[]>();
        blend.WriteRows(4, (y, row) => rows.Add(row.ToArray()));
        rows.Should().HaveCount(4);
        // Taper (window 4, overlap 2): 1/3, 2/3, 2/3, 1/3. Column 2 = window A's column 2 (2/3) and B's column 0 (1/3):
        // (2/3·1 + 1/3·4) / 1 = 2; column 3: A col 3 (1/3), B col 1 (2/3): (1/3 + 8/3) / 1 = 3. Row weights cancel.
        rows[1][..6].Should().BeEquivalentTo(new[] { 1f, 1f, 2f, 3f, 4f, 4f }, o => o.Using<float>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-6f)).WhenTypeIs<float>());
        rows[0][6..].Should().OnlyContain(v => Math.Abs(v - 10) < 1e-5, "a constant in every window stays that constant");
    }

    [Fact]
    public void Uncovered_and_invalid_pixels_are_NaN_and_rows_are_freed_as_written()
    {
        var blend = new TaperedBlend(4, 1, 2, 0);
        var valid = new[] { true, false, true, true };
        blend.Add(0, 0, [1, 2, 3, 4], valid);
        blend.Add(0, 2, [5, 6, 7, 8]);
        var written = new Dictionary<int, float[]>();
        blend.WriteRows(2, (y, row) => written[y] = row.ToArray());
        written[0].Should().Equal(1f, float.NaN, float.NaN, float.NaN);
        written[1].Should().Equal(3f, 4f, float.NaN, float.NaN);
        var late = () => blend.Add(0, 1, [0, 0, 0, 0]);
        late.Should().Throw<InvalidOperationException>().WithMessage("*already written*");
        blend.WriteRows(4, (y, row) => written[y] = row.ToArray());
        written[3].Should().Equal(7f, 8f, float.NaN, float.NaN);
        blend.PeakBytes.Should().Be(4L * 2 * 4 * sizeof(float), "at most four rows of (1 value + 1 weight) × 4 pixels were pending");
    }
}

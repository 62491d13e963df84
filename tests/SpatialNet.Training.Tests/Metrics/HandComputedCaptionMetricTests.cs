using FluentAssertions;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Metrics.Captioning;
using Xunit;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>Small caption-metric cases whose expected values are worked out by hand in each test.</summary>
public sealed class HandComputedCaptionMetricTests
{
    private static CaptionSet One(string candidate, params string[] references) =>
        new(new Dictionary<string, IReadOnlyList<string>> { ["img"] = references }, new Dictionary<string, string> { ["img"] = candidate });

    [Fact]
    public void Bleu_short_candidate_gets_the_brevity_penalty_and_smoothed_zero_orders()
    {
        // Candidate "a b" (2 words) against "a b c d" (4 words): p1 = p2 = 1 (up to the 1e-15/1e-9
        // smoothing), p3 = p4 = 0 + 1e-15 over 0 + 1e-9 = 1e-6. Brevity penalty exp(1 - 4/2) = e^-1.
        // BLEU-1 = BLEU-2 = e^-1; BLEU-3 = (1e-6)^(1/3)·e^-1 = 0.01·e^-1; BLEU-4 = (1e-12)^(1/4)·e^-1 = 0.001·e^-1.
        var result = new BleuScorer().Score(One("a b", "a b c d"));
        double e1 = Math.Exp(-1);
        result.PerImage[0][0].Should().BeApproximately(e1, 1e-8);
        result.PerImage[0][1].Should().BeApproximately(e1, 1e-8);
        result.PerImage[0][2].Should().BeApproximately(0.01 * e1, 1e-9);
        result.PerImage[0][3].Should().BeApproximately(0.001 * e1, 1e-10);
        result.Corpus.Should().Equal(result.PerImage[0]);
    }

    [Fact]
    public void Bleu_perfect_match_scores_just_below_one_because_of_the_smoothing_constants()
    {
        // 3 words, identical: ratio (3 + 1e-15)/(3 + 1e-9) < 1, so the penalty applies; each precision is
        // (c + 1e-15)/(c + 1e-9) ≈ 1 - 1e-9/c. BLEU-1 ≈ (1 - 1e-9/3)·(1 - 1e-9/3) ≈ 1 - 6.67e-10.
        var result = new BleuScorer().Score(One("a b c", "a b c"));
        result.PerImage[0][0].Should().BeApproximately(1 - 2e-9 / 3, 1e-15);
        result.PerImage[0][0].Should().BeLessThan(1.0);
    }

    [Fact]
    public void Bleu_clips_counts_by_the_largest_count_in_a_single_reference()
    {
        // "the" ×4 against "the cat" and "the the dog": max count of "the" in one reference is 2, so
        // p1 = 2/4. The candidate (4) is longer than the closest reference (3), so no brevity penalty.
        var result = new BleuScorer().Score(One("the the the the", "the cat", "the the dog"));
        result.Statistics[0].Correct[0].Should().Be(2);
        result.PerImage[0][0].Should().BeApproximately(0.5, 1e-9);
    }

    [Fact]
    public void Bleu_closest_reference_length_ties_go_to_the_shorter_reference()
    {
        // Candidate of 3 words, references of 2 and 4 words: both 1 away, the shorter (2) is used.
        var stats = new BleuScorer().ImageStatistics("x y z", ["a b", "a b c d"]);
        stats.ClosestReferenceLength.Should().Be(2);
    }

    [Fact]
    public void RougeL_uses_the_longest_common_subsequence()
    {
        RougeLScorer.LongestCommonSubsequence(["a", "b", "c", "d", "e"], ["a", "c", "e", "f"]).Should().Be(3);
        // P = 3/4, R = 3/5, F = (1 + 1.44)·0.75·0.6 / (0.6 + 1.44·0.75) = 1.098 / 1.68.
        RougeLScorer.ScoreImage("a c e f", ["a b c d e"]).Should().BeApproximately(1.098 / 1.68, 1e-15);
    }

    [Fact]
    public void RougeL_takes_best_precision_and_best_recall_from_different_references()
    {
        // Candidate "a b" (2 tokens). Ref1 "a b c d e f": LCS 2, P = 1, R = 1/3. Ref2 "a x": LCS 1, P = 1/2, R = 1/2.
        // Best P = 1 (ref1), best R = 1/2 (ref2): F = 2.44·1·0.5 / (0.5 + 1.44) = 1.22 / 1.94.
        RougeLScorer.ScoreImage("a b", ["a b c d e f", "a x"]).Should().BeApproximately(1.22 / 1.94, 1e-15);
    }

    [Fact]
    public void RougeL_empty_candidate_scores_zero()
    {
        RougeLScorer.ScoreImage("", ["a b"]).Should().Be(0.0);
    }

    [Fact]
    public void CiderD_of_a_single_image_is_zero_because_every_idf_is_zero()
    {
        // With N = 1 image every reference n-gram has df = 1: weight tf·(ln 1 − ln 1) = 0.
        new CiderDScorer().Score(One("a b c", "a b c")).Corpus.Should().Be(0.0);
    }

    [Fact]
    public void Numpy_pairwise_sum_differs_from_sequential_sum_as_numpy_does()
    {
        // 8 values: numpy adds ((1e16+1)+(1+1)) + ((1+1)+(1+1)) = (1e16+2) + 4 = 1e16+6
        // (1e16+1 rounds to 1e16); a sequential sum stays at 1e16.
        var eight = new[] { 1e16, 1, 1, 1, 1, 1, 1, 1 };
        NumpySummation.Sum(eight).Should().Be(1e16 + 6);
        // Fewer than 8 values are summed sequentially.
        NumpySummation.Sum(new[] { 1e16, 1, 1, 1, 1, 1, 1 }).Should().Be(1e16);
        NumpySummation.Mean(new[] { 1.0, 2.0, 3.0 }).Should().Be(2.0);
    }
}

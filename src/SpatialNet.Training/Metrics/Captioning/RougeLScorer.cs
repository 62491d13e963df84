namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>ROUGE-L for a caption set.</summary>
/// <param name="Corpus">Mean of the per-image scores (numpy pairwise mean).</param>
/// <param name="PerImage">Per-image ROUGE-L F-scores, in the caption set's image order.</param>
internal sealed record RougeLResult(double Corpus, IReadOnlyList<double> PerImage);

/// <summary>
/// ROUGE-L (Lin, 2004) exactly as the COCO caption evaluation code computes it (pycocoevalcap
/// <c>Rouge()</c>): tokens split on single spaces, longest common subsequence by dynamic programming,
/// the best precision and the best recall over references taken independently, and
/// F = (1+β²)·P·R / (R + β²·P) with β = 1.2 (0 when either is 0); the corpus score is the mean over images.
/// </summary>
internal sealed class RougeLScorer
{
    /// <summary>β of the F-measure used by the COCO code.</summary>
    public const double Beta = 1.2;

    /// <summary>Scores single-space-tokenised captions.</summary>
    /// <param name="captions">The caption set.</param>
    /// <returns>Corpus and per-image ROUGE-L.</returns>
    public RougeLResult Score(CaptionSet captions)
    {
        ArgumentNullException.ThrowIfNull(captions);
        var perImage = captions.ImageIds.Select(id => ScoreImage(captions.CandidateOf(id), captions.ReferencesOf(id))).ToArray();
        return new RougeLResult(NumpySummation.Mean(perImage), perImage);
    }

    /// <summary>ROUGE-L of one candidate against its references.</summary>
    /// <param name="candidate">Tokenised candidate.</param>
    /// <param name="references">Tokenised references (at least one).</param>
    /// <returns>The F-score.</returns>
    public static double ScoreImage(string candidate, IReadOnlyList<string> references)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(references);
        if (references.Count == 0)
        {
            throw new ArgumentException("At least one reference is required.", nameof(references));
        }

        var tokensC = CaptionTokenizer.SplitSingleSpace(candidate);
        double precisionMax = double.NegativeInfinity, recallMax = double.NegativeInfinity;
        foreach (var reference in references)
        {
            var tokensR = CaptionTokenizer.SplitSingleSpace(reference);
            int lcs = LongestCommonSubsequence(tokensR, tokensC);
            precisionMax = Math.Max(precisionMax, lcs / (double)tokensC.Length);
            recallMax = Math.Max(recallMax, lcs / (double)tokensR.Length);
        }

        if (precisionMax != 0 && recallMax != 0)
        {
            const double beta2 = Beta * Beta;
            return (1 + beta2) * precisionMax * recallMax / (recallMax + beta2 * precisionMax);
        }

        return 0.0;
    }

    /// <summary>Length of the longest common subsequence of two token sequences.</summary>
    /// <param name="a">First sequence.</param>
    /// <param name="b">Second sequence.</param>
    /// <returns>The LCS length.</returns>
    public static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        // One row of the classic DP table suffices: row[j] = LCS(a[..i], b[..j]).
        var prev = new int[b.Count + 1];
        var cur = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
            {
                cur[j] = string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal)
                    ? prev[j - 1] + 1
                    : Math.Max(prev[j], cur[j - 1]);
            }

            (prev, cur) = (cur, prev);
        }

        return prev[b.Count];
    }
}

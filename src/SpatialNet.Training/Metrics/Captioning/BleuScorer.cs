namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>Per-image BLEU sufficient statistics (what the COCO scorer calls <c>comps</c>).</summary>
/// <param name="TestLength">Candidate length in tokens.</param>
/// <param name="ClosestReferenceLength">The reference length closest to the candidate's (ties to the shorter).</param>
/// <param name="Guess">Candidate n-gram counts for n = 1..N.</param>
/// <param name="Correct">Clipped matching n-gram counts for n = 1..N.</param>
internal sealed record BleuStatistics(int TestLength, int ClosestReferenceLength, IReadOnlyList<int> Guess, IReadOnlyList<int> Correct);

/// <summary>BLEU-1..N for a caption set: corpus scores, per-image scores and per-image statistics.</summary>
/// <param name="Corpus">Corpus BLEU-n for n = 1..N (index n-1), computed from pooled counts.</param>
/// <param name="PerImage">Per-image BLEU-n, in the caption set's image order.</param>
/// <param name="Statistics">Per-image statistics, in the same order.</param>
internal sealed record BleuResult(IReadOnlyList<double> Corpus, IReadOnlyList<IReadOnlyList<double>> PerImage, IReadOnlyList<BleuStatistics> Statistics);

/// <summary>
/// BLEU (Papineni et al., 2002) exactly as the COCO caption evaluation code computes it
/// (pycocoevalcap <c>Bleu(4)</c>, option <c>closest</c>): tokens split on whitespace, counts clipped
/// by the largest count in any single reference, effective reference length the closest reference
/// length (ties to the shorter), smoothing constants 1e-15 / 1e-9 in every ratio, and the brevity
/// penalty <c>exp(1 − 1/ratio)</c> whenever <c>ratio &lt; 1</c>. The corpus score pools counts over
/// images; it is not a mean of per-image scores.
/// </summary>
internal sealed class BleuScorer
{
    // The reference code's "tiny" and "small": keep ratios finite and make a perfect match 0.9999999998.
    private const double Tiny = 1e-15;
    private const double Small = 1e-9;

    /// <summary>Creates a scorer for BLEU-1..<paramref name="maxOrder"/>.</summary>
    /// <param name="maxOrder">Largest n-gram order (the COCO code uses 4).</param>
    public BleuScorer(int maxOrder = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOrder, 1);
        MaxOrder = maxOrder;
    }

    /// <summary>Largest n-gram order.</summary>
    public int MaxOrder { get; }

    /// <summary>Scores whitespace-tokenised captions.</summary>
    /// <param name="captions">The caption set (already tokenised; tokens separated by whitespace).</param>
    /// <returns>Corpus and per-image BLEU-1..N.</returns>
    internal BleuResult Score(CaptionSet captions)
    {
        ArgumentNullException.ThrowIfNull(captions);
        int n = MaxOrder;
        var perImage = new List<IReadOnlyList<double>>(captions.Count);
        var stats = new List<BleuStatistics>(captions.Count);
        long totalTest = 0, totalRef = 0;
        var totalGuess = new long[n];
        var totalCorrect = new long[n];

        foreach (var id in captions.ImageIds)
        {
            var s = ImageStatistics(captions.CandidateOf(id), captions.ReferencesOf(id));
            stats.Add(s);
            totalTest += s.TestLength;
            totalRef += s.ClosestReferenceLength;
            for (int k = 0; k < n; k++)
            {
                totalGuess[k] += s.Guess[k];
                totalCorrect[k] += s.Correct[k];
            }

            perImage.Add(Combine(s.Correct.Select(c => (double)c).ToArray(), s.Guess.Select(g => (double)g).ToArray(), s.TestLength, s.ClosestReferenceLength));
        }

        var corpus = Combine(totalCorrect.Select(c => (double)c).ToArray(), totalGuess.Select(g => (double)g).ToArray(), totalTest, totalRef);
        return new BleuResult(corpus, perImage, stats);
    }

    /// <summary>The BLEU statistics of one candidate against its references.</summary>
    /// <param name="candidate">Tokenised candidate.</param>
    /// <param name="references">Tokenised references.</param>
    /// <returns>The statistics.</returns>
    internal BleuStatistics ImageStatistics(string candidate, IReadOnlyList<string> references)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(references);
        if (references.Count == 0)
        {
            throw new ArgumentException("At least one reference is required.", nameof(references));
        }

        int n = MaxOrder;
        var maxRefCounts = new Dictionary<NGram, int>();
        var refLengths = new List<int>(references.Count);
        foreach (var reference in references)
        {
            var words = CaptionTokenizer.SplitWhitespace(reference);
            refLengths.Add(words.Length);
            foreach (var (gram, count) in NGram.Count(words, n))
            {
                maxRefCounts[gram] = Math.Max(maxRefCounts.GetValueOrDefault(gram), count);
            }
        }

        var testWords = CaptionTokenizer.SplitWhitespace(candidate);
        int testLength = testWords.Length;

        // Closest reference length; among equally close ones the shorter (Python's min over (|l-t|, l)).
        int closest = refLengths[0];
        foreach (int l in refLengths)
        {
            int d = Math.Abs(l - testLength), best = Math.Abs(closest - testLength);
            if (d < best || (d == best && l < closest))
            {
                closest = l;
            }
        }

        var guess = new int[n];
        var correct = new int[n];
        for (int k = 1; k <= n; k++)
        {
            guess[k - 1] = Math.Max(0, testLength - k + 1);
        }

        foreach (var (gram, count) in NGram.Count(testWords, n))
        {
            correct[gram.Order - 1] += Math.Min(maxRefCounts.GetValueOrDefault(gram), count);
        }

        return new BleuStatistics(testLength, closest, guess, correct);
    }

    private double[] Combine(double[] correct, double[] guess, double testLength, double refLength)
    {
        int n = MaxOrder;
        var bleu = new double[n];
        double product = 1.0;
        for (int k = 0; k < n; k++)
        {
            product *= (correct[k] + Tiny) / (guess[k] + Small);
            bleu[k] = Math.Pow(product, 1.0 / (k + 1.0));
        }

        double ratio = (testLength + Tiny) / (refLength + Small);
        if (ratio < 1)
        {
            // Brevity penalty (Papineni et al., 2002, Sec. 2.2.2), applied to every order.
            double penalty = Math.Exp(1 - 1 / ratio);
            for (int k = 0; k < n; k++)
            {
                bleu[k] *= penalty;
            }
        }

        return bleu;
    }
}

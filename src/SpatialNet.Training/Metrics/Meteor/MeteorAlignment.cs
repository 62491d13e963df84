namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>One aligned span pair: reference words [RefStart, RefStart+RefLength) ↔ test words [TestStart, TestStart+TestLength).</summary>
/// <param name="RefStart">First reference token.</param>
/// <param name="RefLength">Number of reference tokens.</param>
/// <param name="TestStart">First test (candidate) token.</param>
/// <param name="TestLength">Number of test tokens.</param>
/// <param name="Stage">Index of the module (in the options' module list) that proposed the match.</param>
internal sealed record MeteorMatch(int RefStart, int RefLength, int TestStart, int TestLength, int Stage);

/// <summary>The word alignment of a candidate (test) and one reference.</summary>
/// <param name="TestTokens">Normalised candidate tokens.</param>
/// <param name="ReferenceTokens">Normalised reference tokens.</param>
/// <param name="Matches">The chosen matches, in reference order.</param>
/// <param name="TestFunctionWordIndices">Indices of candidate tokens that are function words.</param>
/// <param name="ReferenceFunctionWordIndices">Indices of reference tokens that are function words.</param>
internal sealed record MeteorAlignment(
    IReadOnlyList<string> TestTokens,
    IReadOnlyList<string> ReferenceTokens,
    IReadOnlyList<MeteorMatch> Matches,
    IReadOnlyList<int> TestFunctionWordIndices,
    IReadOnlyList<int> ReferenceFunctionWordIndices);

/// <summary>
/// Meteor's sufficient statistics for a segment (or their sums over a corpus) and the score computed
/// from them, with the field meanings of stock Meteor 1.5's <c>MeteorStats</c>.
/// </summary>
internal sealed class MeteorStatistics
{
    /// <summary>Candidate length in tokens.</summary>
    public double TestLength { get; init; }

    /// <summary>Reference length in tokens.</summary>
    public double ReferenceLength { get; init; }

    /// <summary>Function words in the candidate.</summary>
    public double TestFunctionWords { get; init; }

    /// <summary>Function words in the reference.</summary>
    public double ReferenceFunctionWords { get; init; }

    /// <summary>Matched candidate content words per module.</summary>
    public IReadOnlyList<double> TestStageMatchesContent { get; init; } = [];

    /// <summary>Matched reference content words per module.</summary>
    public IReadOnlyList<double> ReferenceStageMatchesContent { get; init; } = [];

    /// <summary>Matched candidate function words per module.</summary>
    public IReadOnlyList<double> TestStageMatchesFunction { get; init; } = [];

    /// <summary>Matched reference function words per module.</summary>
    public IReadOnlyList<double> ReferenceStageMatchesFunction { get; init; } = [];

    /// <summary>Number of chunks (maximal runs contiguous and in order in both strings).</summary>
    public double Chunks { get; init; }

    /// <summary>Matched candidate words (unweighted).</summary>
    public double TestWordMatches { get; init; }

    /// <summary>Matched reference words (unweighted).</summary>
    public double ReferenceWordMatches { get; init; }

    /// <summary>δ-weighted candidate length.</summary>
    public double TestWeightedLength { get; private set; }

    /// <summary>δ-weighted reference length.</summary>
    public double ReferenceWeightedLength { get; private set; }

    /// <summary>Module- and δ-weighted candidate matches.</summary>
    public double TestWeightedMatches { get; private set; }

    /// <summary>Module- and δ-weighted reference matches.</summary>
    public double ReferenceWeightedMatches { get; private set; }

    /// <summary>Weighted precision.</summary>
    public double Precision { get; private set; }

    /// <summary>Weighted recall.</summary>
    public double Recall { get; private set; }

    /// <summary>Parameterised harmonic mean 1 / ((1−α)/P + α/R).</summary>
    public double FMean { get; private set; }

    /// <summary>Fragmentation penalty γ·frag^β.</summary>
    public double FragPenalty { get; private set; }

    /// <summary>The Meteor score fMean·(1 − penalty), 0 when undefined.</summary>
    public double Score { get; private set; }

    /// <summary>The alignment behind a segment's statistics (null for corpus sums).</summary>
    public MeteorAlignment? Alignment { get; init; }

    /// <summary>Total matched candidate words over modules (content + function).</summary>
    public double TestTotalMatches => TestStageMatchesContent.Sum() + TestStageMatchesFunction.Sum();

    /// <summary>Total matched reference words over modules (content + function).</summary>
    public double ReferenceTotalMatches => ReferenceStageMatchesContent.Sum() + ReferenceStageMatchesFunction.Sum();

    /// <summary>Every word matched, in one chunk: no fragmentation, and not counted in corpus chunks.</summary>
    public bool IsPerfect => TestTotalMatches == TestLength && ReferenceTotalMatches == ReferenceLength && Chunks == 1;

    /// <summary>
    /// Meteor's 23-number sufficient-statistics line for up to four modules: lengths, function-word
    /// counts, then per module (candidate content, reference content, candidate function, reference
    /// function), then chunks and the two word-match totals.
    /// </summary>
    /// <returns>The statistics vector.</returns>
    public double[] ToSufficientStatistics()
    {
        var v = new double[23];
        v[0] = TestLength;
        v[1] = ReferenceLength;
        v[2] = TestFunctionWords;
        v[3] = ReferenceFunctionWords;
        for (int i = 0; i < Math.Min(4, TestStageMatchesContent.Count); i++)
        {
            v[4 + (4 * i)] = TestStageMatchesContent[i];
            v[5 + (4 * i)] = ReferenceStageMatchesContent[i];
            v[6 + (4 * i)] = TestStageMatchesFunction[i];
            v[7 + (4 * i)] = ReferenceStageMatchesFunction[i];
        }

        v[20] = Chunks;
        v[21] = TestWordMatches;
        v[22] = ReferenceWordMatches;
        return v;
    }

    /// <summary>
    /// Sums segment statistics into corpus statistics as Meteor does: every count is added, except
    /// that the chunks of perfect segments (all words matched in one chunk) are left out.
    /// </summary>
    /// <param name="segments">The best-reference statistics of each segment.</param>
    /// <returns>The summed statistics (scores not yet computed).</returns>
    public static MeteorStatistics Sum(IReadOnlyList<MeteorStatistics> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        if (segments.Count == 0)
        {
            throw new ArgumentException("Cannot sum an empty list of Meteor statistics.", nameof(segments));
        }

        int modules = segments[0].TestStageMatchesContent.Count;
        var tc = new double[modules];
        var rc = new double[modules];
        var tf = new double[modules];
        var rf = new double[modules];
        double tLen = 0, rLen = 0, tFw = 0, rFw = 0, chunks = 0, tWm = 0, rWm = 0;
        foreach (var s in segments)
        {
            tLen += s.TestLength;
            rLen += s.ReferenceLength;
            tFw += s.TestFunctionWords;
            rFw += s.ReferenceFunctionWords;
            for (int i = 0; i < modules; i++)
            {
                tc[i] += s.TestStageMatchesContent[i];
                rc[i] += s.ReferenceStageMatchesContent[i];
                tf[i] += s.TestStageMatchesFunction[i];
                rf[i] += s.ReferenceStageMatchesFunction[i];
            }

            if (!s.IsPerfect)
            {
                chunks += s.Chunks;
            }

            tWm += s.TestWordMatches;
            rWm += s.ReferenceWordMatches;
        }

        return new MeteorStatistics
        {
            TestLength = tLen,
            ReferenceLength = rLen,
            TestFunctionWords = tFw,
            ReferenceFunctionWords = rFw,
            TestStageMatchesContent = tc,
            ReferenceStageMatchesContent = rc,
            TestStageMatchesFunction = tf,
            ReferenceStageMatchesFunction = rf,
            Chunks = chunks,
            TestWordMatches = tWm,
            ReferenceWordMatches = rWm,
        };
    }

    /// <summary>
    /// Computes precision, recall, fMean, the fragmentation penalty and the score from the counts
    /// (Banerjee and Lavie, 2005; Denkowski and Lavie, 2014), in stock Meteor's order of operations.
    /// </summary>
    /// <param name="weights">Scoring weight per module.</param>
    /// <param name="alpha">α.</param>
    /// <param name="beta">β.</param>
    /// <param name="gamma">γ.</param>
    /// <param name="delta">δ.</param>
    internal void ComputeScore(IReadOnlyList<double> weights, double alpha, double beta, double gamma, double delta)
    {
        TestWeightedLength = (delta * (TestLength - TestFunctionWords)) + ((1.0 - delta) * TestFunctionWords);
        ReferenceWeightedLength = (delta * (ReferenceLength - ReferenceFunctionWords)) + ((1.0 - delta) * ReferenceFunctionWords);

        double tWm = 0, rWm = 0;
        for (int i = 0; i < weights.Count; i++)
        {
            tWm += TestStageMatchesContent[i] * weights[i] * delta;
        }

        for (int i = 0; i < weights.Count; i++)
        {
            rWm += ReferenceStageMatchesContent[i] * weights[i] * delta;
        }

        for (int i = 0; i < weights.Count; i++)
        {
            tWm += TestStageMatchesFunction[i] * weights[i] * (1.0 - delta);
        }

        for (int i = 0; i < weights.Count; i++)
        {
            rWm += ReferenceStageMatchesFunction[i] * weights[i] * (1.0 - delta);
        }

        TestWeightedMatches = tWm;
        ReferenceWeightedMatches = rWm;
        Precision = tWm / TestWeightedLength;
        Recall = rWm / ReferenceWeightedLength;
        FMean = 1.0 / (((1.0 - alpha) / Precision) + (alpha / Recall));
        double frag = IsPerfect ? 0 : Chunks / ((TestWordMatches + ReferenceWordMatches) / 2);
        FragPenalty = gamma * Math.Pow(frag, beta);
        double score = FMean * (1.0 - FragPenalty);
        Score = double.IsNaN(score) ? 0 : Math.Max(score, 0.0);
    }
}

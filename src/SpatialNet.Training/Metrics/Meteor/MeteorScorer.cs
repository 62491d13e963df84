
namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>Meteor result for one candidate scored against several references.</summary>
/// <param name="Best">Statistics of the best-scoring reference (the first one on ties).</param>
/// <param name="BestReferenceIndex">Index of that reference.</param>
/// <param name="PerReference">Statistics against every reference, in order.</param>
internal sealed record MeteorSegmentResult(MeteorStatistics Best, int BestReferenceIndex, IReadOnlyList<MeteorStatistics> PerReference)
{
    /// <summary>The segment's Meteor score.</summary>
    public double Score => Best.Score;
}

/// <summary>Meteor over a caption set.</summary>
/// <param name="Corpus">The corpus score: Meteor's formula applied once to the summed statistics (not a mean of segment scores).</param>
/// <param name="CorpusStatistics">The summed statistics.</param>
/// <param name="PerImage">Per-image scores, in the caption set's image order.</param>
/// <param name="Segments">Per-image details, same order.</param>
internal sealed record MeteorResult(double Corpus, MeteorStatistics CorpusStatistics, IReadOnlyList<double> PerImage, IReadOnlyList<MeteorSegmentResult> Segments);

/// <summary>
/// METEOR 1.5 (Denkowski and Lavie, 2014), reproducing stock Meteor 1.5 (<c>-l en -norm</c>, rank
/// task) for the exact and stem modules, and for synonyms when WordNet data is supplied. COCO's
/// published METEOR figures also use Meteor's English paraphrase table (and PTB-tokenised input): the
/// paraphrase module is available when the user supplies that table, but its output has not been
/// verified against stock Meteor.
/// </summary>
internal sealed class MeteorScorer
{
    private readonly MeteorOptions _options;
    private readonly MeteorAligner _aligner;
    private readonly double[] _weights;

    /// <summary>Creates a scorer.</summary>
    /// <param name="options">Settings; null for the defaults (exact + stem, rank-task parameters).</param>
    /// <exception cref="ArgumentException">When the options are invalid.</exception>
    public MeteorScorer(MeteorOptions? options = null)
    {
        _options = options ?? new MeteorOptions();
        _options.Validate();
        _aligner = new MeteorAligner(_options);
        _weights = _options.ResolvedWeights();
    }

    /// <summary>The settings in use.</summary>
    public MeteorOptions Options => _options;

    /// <summary>Prepares a line as Meteor does before aligning (normalise and/or lowercase, then tokenise).</summary>
    /// <param name="line">Raw or tokenised text.</param>
    /// <returns>Tokens.</returns>
    public string[] Prepare(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string text = _options.Normalization switch
        {
            MeteorTextNormalization.Normalize => MeteorNormalizer.Normalize(MeteorNormalizer.JavaTrim(line)),
            MeteorTextNormalization.LowercaseOnly => MeteorNormalizer.JavaLowerCase(line),
            _ => line,
        };
        return MeteorNormalizer.Tokenize(text);
    }

    /// <summary>Aligns and scores a candidate against one reference.</summary>
    /// <param name="candidate">Candidate text.</param>
    /// <param name="reference">Reference text.</param>
    /// <returns>The statistics and score.</returns>
    internal MeteorStatistics ScorePair(string candidate, string reference) => ScoreTokens(Prepare(candidate), Prepare(reference));

    /// <summary>Scores a candidate against several references, keeping the best (first on ties).</summary>
    /// <param name="candidate">Candidate text.</param>
    /// <param name="references">Reference texts (at least one).</param>
    /// <returns>The best reference's statistics and all per-reference statistics (references as split by
    /// <see cref="MeteorOptions.EmulateCocoWrapper"/>).</returns>
    internal MeteorSegmentResult ScoreSegment(string candidate, IReadOnlyList<string> references)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(references);
        if (references.Count == 0)
        {
            throw new ArgumentException("At least one reference is required.", nameof(references));
        }

        if (_options.EmulateCocoWrapper)
        {
            candidate = candidate.Replace("|||", string.Empty, StringComparison.Ordinal).Replace("  ", " ", StringComparison.Ordinal);
            references = references.SelectMany(r => r.Split("|||")).ToArray();
        }

        var test = Prepare(candidate);
        var all = new List<MeteorStatistics>(references.Count);
        int bestIndex = -1;
        double bestScore = -1;
        for (int r = 0; r < references.Count; r++)
        {
            var stats = ScoreTokens(test, Prepare(references[r]));
            all.Add(stats);
            if (stats.Score > bestScore)
            {
                bestScore = stats.Score;
                bestIndex = r;
            }
        }

        return new MeteorSegmentResult(all[bestIndex], bestIndex, all);
    }

    /// <summary>Scores every image of a caption set and the corpus.</summary>
    /// <param name="images">Each image's candidate and references, in order (text as Meteor should see it: raw for <c>-norm</c>).</param>
    /// <returns>Corpus and per-image Meteor.</returns>
    internal MeteorResult Score(IEnumerable<(string Candidate, IReadOnlyList<string> References)> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var segments = images.Select(i => ScoreSegment(i.Candidate, i.References)).ToArray();
        var corpus = MeteorStatistics.Sum(segments.Select(s => s.Best).ToArray());
        corpus.ComputeScore(_weights, _options.Alpha, _options.Beta, _options.Gamma, _options.Delta);
        return new MeteorResult(corpus.Score, corpus, segments.Select(s => s.Score).ToArray(), segments);
    }

    private MeteorStatistics ScoreTokens(IReadOnlyList<string> test, IReadOnlyList<string> reference)
    {
        var a = _aligner.Align(test, reference);
        var stats = new MeteorStatistics
        {
            TestLength = test.Count,
            ReferenceLength = reference.Count,
            TestFunctionWords = a.Alignment.TestFunctionWordIndices.Count,
            ReferenceFunctionWords = a.Alignment.ReferenceFunctionWordIndices.Count,
            TestStageMatchesContent = a.TestContentMatches.Select(x => (double)x).ToArray(),
            ReferenceStageMatchesContent = a.ReferenceContentMatches.Select(x => (double)x).ToArray(),
            TestStageMatchesFunction = a.TestFunctionMatches.Select(x => (double)x).ToArray(),
            ReferenceStageMatchesFunction = a.ReferenceFunctionMatches.Select(x => (double)x).ToArray(),
            Chunks = a.Chunks,
            TestWordMatches = a.TestContentMatches.Sum() + a.TestFunctionMatches.Sum(),
            ReferenceWordMatches = a.ReferenceContentMatches.Sum() + a.ReferenceFunctionMatches.Sum(),
            Alignment = a.Alignment,
        };
        stats.ComputeScore(_weights, _options.Alpha, _options.Beta, _options.Gamma, _options.Delta);
        return stats;
    }
}

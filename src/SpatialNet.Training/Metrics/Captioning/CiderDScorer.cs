namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>CIDEr-D for a caption set.</summary>
/// <param name="Corpus">Mean of the per-image scores (numpy pairwise mean).</param>
/// <param name="PerImage">Per-image CIDEr-D, in the caption set's image order.</param>
internal sealed record CiderDResult(double Corpus, IReadOnlyList<double> PerImage);

/// <summary>
/// CIDEr-D (Vedantam et al., 2015) exactly as the COCO caption evaluation code computes it
/// (pycocoevalcap <c>Cider()</c>): n = 1..4, raw term counts, document frequency over the references
/// of the scored set only, weights tf·(ln N − ln max(1, df)), clipped cosine similarity
/// Σ min(h, r)·r / (‖h‖‖r‖) per order, the Gaussian length penalty e^(−δ²/2σ²) with σ = 6 and δ the
/// difference in bigram counts, the mean over orders summed over references, divided by the number
/// of references and multiplied by 10. The corpus score is the mean over images.
/// </summary>
internal sealed class CiderDScorer
{
    /// <summary>Creates a scorer.</summary>
    /// <param name="maxOrder">Largest n-gram order (4 in the COCO code).</param>
    /// <param name="sigma">σ of the length penalty (6 in the COCO code).</param>
    public CiderDScorer(int maxOrder = 4, double sigma = 6.0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOrder, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sigma);
        MaxOrder = maxOrder;
        Sigma = sigma;
    }

    /// <summary>Largest n-gram order.</summary>
    public int MaxOrder { get; }

    /// <summary>σ of the Gaussian length penalty.</summary>
    public double Sigma { get; }

    /// <summary>Scores whitespace-tokenised captions.</summary>
    /// <param name="captions">The caption set; its references define the document frequencies.</param>
    /// <returns>Corpus and per-image CIDEr-D.</returns>
    public CiderDResult Score(CaptionSet captions)
    {
        ArgumentNullException.ThrowIfNull(captions);
        int n = MaxOrder;
        var refCounts = new List<List<KeyValuePair<NGram, int>>[]>(captions.Count);
        var testCounts = new List<List<KeyValuePair<NGram, int>>>(captions.Count);
        var documentFrequency = new Dictionary<NGram, int>();
        foreach (var id in captions.ImageIds)
        {
            var refs = captions.ReferencesOf(id).Select(r => NGram.Count(CaptionTokenizer.SplitWhitespace(r), n)).ToArray();
            refCounts.Add(refs);
            testCounts.Add(NGram.Count(CaptionTokenizer.SplitWhitespace(captions.CandidateOf(id)), n));
            // Each image counts once per n-gram, however many of its references contain it.
            var seen = new HashSet<NGram>();
            foreach (var r in refs)
            {
                foreach (var (gram, _) in r)
                {
                    if (seen.Add(gram))
                    {
                        documentFrequency[gram] = documentFrequency.GetValueOrDefault(gram) + 1;
                    }
                }
            }
        }

        double logImageCount = Math.Log(captions.Count);
        var scores = new double[captions.Count];
        for (int img = 0; img < captions.Count; img++)
        {
            var test = ToVector(testCounts[img], documentFrequency, logImageCount);
            var score = new double[n];
            foreach (var refCount in refCounts[img])
            {
                var reference = ToVector(refCount, documentFrequency, logImageCount);
                var sim = Similarity(test, reference);
                for (int k = 0; k < n; k++)
                {
                    score[k] += sim[k];
                }
            }

            double average = NumpySummation.Mean(score);
            average /= refCounts[img].Length;
            average *= 10.0;
            scores[img] = average;
        }

        return new CiderDResult(NumpySummation.Mean(scores), scores);
    }

    private sealed class TfIdfVector(int n)
    {
        // Per order: n-grams in first-occurrence order with their weights, plus a lookup.
        public readonly List<KeyValuePair<NGram, double>>[] Entries = Enumerable.Range(0, n).Select(_ => new List<KeyValuePair<NGram, double>>()).ToArray();
        public readonly Dictionary<NGram, double>[] Lookup = Enumerable.Range(0, n).Select(_ => new Dictionary<NGram, double>()).ToArray();
        public readonly double[] Norm = new double[n];
        public int BigramCount;
    }

    private TfIdfVector ToVector(List<KeyValuePair<NGram, int>> counts, Dictionary<NGram, int> documentFrequency, double logImageCount)
    {
        var v = new TfIdfVector(MaxOrder);
        foreach (var (gram, termFrequency) in counts)
        {
            double df = Math.Log(Math.Max(1.0, documentFrequency.GetValueOrDefault(gram)));
            int k = gram.Order - 1;
            double weight = termFrequency * (logImageCount - df);
            v.Entries[k].Add(new KeyValuePair<NGram, double>(gram, weight));
            v.Lookup[k][gram] = weight;
            v.Norm[k] += weight * weight;
            if (k == 1)
            {
                // The reference code measures length in bigrams (words − 1).
                v.BigramCount += termFrequency;
            }
        }

        for (int k = 0; k < MaxOrder; k++)
        {
            v.Norm[k] = Math.Sqrt(v.Norm[k]);
        }

        return v;
    }

    private double[] Similarity(TfIdfVector hyp, TfIdfVector reference)
    {
        double delta = hyp.BigramCount - reference.BigramCount;
        var val = new double[MaxOrder];
        for (int k = 0; k < MaxOrder; k++)
        {
            foreach (var (gram, h) in hyp.Entries[k])
            {
                double r = reference.Lookup[k].GetValueOrDefault(gram);
                val[k] += Math.Min(h, r) * r;
            }

            if (hyp.Norm[k] != 0 && reference.Norm[k] != 0)
            {
                val[k] /= hyp.Norm[k] * reference.Norm[k];
            }

            // Math.Pow(e, x) rather than Math.Exp(x): the reference evaluates np.e ** x.
            val[k] *= Math.Pow(Math.E, -(delta * delta) / (2 * Sigma * Sigma));
        }

        return val;
    }
}

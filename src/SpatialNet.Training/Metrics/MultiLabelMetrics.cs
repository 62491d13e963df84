namespace SpatialNet.Training.Metrics;

/// <summary>Multi-label scores (e.g. which object kinds an image contains).</summary>
/// <param name="Accuracy">Fraction of (sample, label) decisions that are right.</param>
/// <param name="MicroF1">F1 of all decisions pooled: 2·TP / (2·TP + FP + FN) over every (sample, label); 0 when that denominator is 0.</param>
/// <param name="MacroF1">Mean of <paramref name="PerLabelF1"/> over the labels that are positive in the targets or the decisions.</param>
/// <param name="MeanAveragePrecision">Mean of <paramref name="PerLabelAveragePrecision"/> over the labels with at least one positive target.</param>
/// <param name="PerLabelF1">F1 per label (NaN for a label positive nowhere, in neither list).</param>
/// <param name="PerLabelAveragePrecision">Average precision per label (NaN for a label without positive targets).</param>
/// <param name="PerLabelAccuracy">Fraction of samples whose decision for the label is right.</param>
/// <param name="Samples">Number of samples.</param>
public sealed record MultiLabelResult(
    double Accuracy,
    double MicroF1,
    double MacroF1,
    double MeanAveragePrecision,
    IReadOnlyList<double> PerLabelF1,
    IReadOnlyList<double> PerLabelAveragePrecision,
    IReadOnlyList<double> PerLabelAccuracy,
    int Samples);

/// <summary>Accuracy, micro/macro F1 and mean average precision of multi-label predictions.</summary>
public static class MultiLabelMetrics
{
    /// <summary>Scores per-label probabilities against 0/1 targets.</summary>
    /// <param name="targets">Per sample, one 0/1 value per label.</param>
    /// <param name="scores">Per sample, one score per label (a probability; the decision is score ≥ <paramref name="threshold"/>).</param>
    /// <param name="threshold">Decision threshold.</param>
    /// <returns>The scores.</returns>
    /// <remarks>
    /// Average precision follows scikit-learn's <c>average_precision_score</c>: samples sorted by
    /// descending score, tied scores form one threshold, AP = Σ_n (R_n − R_{n−1})·P_n over the thresholds.
    /// </remarks>
    /// <exception cref="ArgumentException">Empty input, lengths differ, or a target is not 0 or 1.</exception>
    public static MultiLabelResult Compute(IReadOnlyList<IReadOnlyList<double>> targets, IReadOnlyList<IReadOnlyList<double>> scores, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(scores);
        if (targets.Count == 0)
            throw new ArgumentException("Cannot score an empty list of predictions.", nameof(targets));
        if (targets.Count != scores.Count)
            throw new ArgumentException($"targets has {targets.Count} samples but scores has {scores.Count}.", nameof(scores));
        int labels = targets[0].Count;
        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i].Count != labels || scores[i].Count != labels)
                throw new ArgumentException($"Sample {i} has {targets[i].Count} targets and {scores[i].Count} scores; sample 0 has {labels} labels.", nameof(targets));
            for (int l = 0; l < labels; l++)
            {
                if (targets[i][l] is not (0.0 or 1.0))
                    throw new ArgumentException($"targets[{i}][{l}] = {targets[i][l]} is not 0 or 1.", nameof(targets));
            }
        }

        int n = targets.Count;
        long tpAll = 0, fpAll = 0, fnAll = 0, correctAll = 0;
        var f1 = new double[labels];
        var ap = new double[labels];
        var accuracy = new double[labels];
        var f1Present = new List<double>();
        var apPresent = new List<double>();
        for (int l = 0; l < labels; l++)
        {
            long tp = 0, fp = 0, fn = 0, correct = 0;
            for (int i = 0; i < n; i++)
            {
                bool truth = targets[i][l] == 1.0;
                bool decision = scores[i][l] >= threshold;
                if (truth && decision) tp++;
                else if (!truth && decision) fp++;
                else if (truth) fn++;
                if (truth == decision) correct++;
            }

            tpAll += tp;
            fpAll += fp;
            fnAll += fn;
            correctAll += correct;
            accuracy[l] = correct / (double)n;
            if (tp + fp + fn == 0)
            {
                f1[l] = double.NaN;
            }
            else
            {
                f1[l] = 2.0 * tp / (2 * tp + fp + fn);
                f1Present.Add(f1[l]);
            }

            ap[l] = AveragePrecision(targets, scores, l);
            if (!double.IsNaN(ap[l]))
                apPresent.Add(ap[l]);
        }

        long denominator = 2 * tpAll + fpAll + fnAll;
        return new MultiLabelResult(
            correctAll / (double)(n * (long)labels),
            denominator == 0 ? 0.0 : 2.0 * tpAll / denominator,
            f1Present.Count == 0 ? 0.0 : NumpySummation.Mean(f1Present),
            apPresent.Count == 0 ? double.NaN : NumpySummation.Mean(apPresent),
            f1,
            ap,
            accuracy,
            n);
    }

    private static double AveragePrecision(IReadOnlyList<IReadOnlyList<double>> targets, IReadOnlyList<IReadOnlyList<double>> scores, int label)
    {
        int n = targets.Count;
        long positives = 0;
        for (int i = 0; i < n; i++)
            positives += targets[i][label] == 1.0 ? 1 : 0;
        if (positives == 0)
            return double.NaN;
        var order = Enumerable.Range(0, n).OrderByDescending(i => scores[i][label]).ToArray();
        double sum = 0, previousRecall = 0;
        long tp = 0, seen = 0;
        for (int k = 0; k < n; k++)
        {
            int i = order[k];
            tp += targets[i][label] == 1.0 ? 1 : 0;
            seen++;
            // A threshold ends where the next score differs: tied samples are taken together.
            if (k + 1 < n && scores[order[k + 1]][label] == scores[i][label])
                continue;
            double recall = tp / (double)positives;
            sum += (recall - previousRecall) * (tp / (double)seen);
            previousRecall = recall;
        }

        return sum;
    }
}

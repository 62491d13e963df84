namespace SpatialNet.Training.Metrics;

/// <summary>
/// Segmentation scores over a whole split, as mmsegmentation's <c>IoUMetric</c> computes them: areas summed
/// over all images first, then per class; a class whose ratio is 0/0 (no union, no label, no prediction)
/// is left out of the mean (<c>nanmean</c>). Fractions in [0, 1], not percentages.
/// </summary>
/// <param name="AllAccuracy">aAcc: Σ intersection / Σ label area over all classes.</param>
/// <param name="MeanIoU">mIoU: mean over classes of intersection / union.</param>
/// <param name="MeanAccuracy">mAcc: mean over classes of intersection / label area.</param>
/// <param name="MeanDice">mDice: mean over classes of 2·intersection / (prediction area + label area).</param>
/// <param name="MeanFscore">mFscore (β = 1): mean over classes of 2·P·R / (P + R).</param>
/// <param name="MeanPrecision">mPrecision: mean over classes of intersection / prediction area.</param>
/// <param name="MeanRecall">mRecall: mean over classes of intersection / label area (equals mAcc).</param>
/// <param name="PerClassIoU">IoU per class (NaN where the union is empty).</param>
/// <param name="PerClassAccuracy">Accuracy (recall) per class (NaN where the class has no labelled pixel).</param>
/// <param name="PerClassDice">Dice per class (NaN where prediction and label areas are both empty).</param>
/// <param name="PerClassFscore">F1 per class (NaN where precision or recall is 0/0).</param>
/// <param name="Areas">The summed areas the scores were computed from.</param>
internal sealed record SegmentationResult(
    double AllAccuracy,
    double MeanIoU,
    double MeanAccuracy,
    double MeanDice,
    double MeanFscore,
    double MeanPrecision,
    double MeanRecall,
    IReadOnlyList<double> PerClassIoU,
    IReadOnlyList<double> PerClassAccuracy,
    IReadOnlyList<double> PerClassDice,
    IReadOnlyList<double> PerClassFscore,
    SegmentationAreas Areas);

/// <summary>
/// Accumulates mmsegmentation's per-class areas (intersection, union, predicted, labelled) over the images
/// of a split; <see cref="Compute"/> turns them into <see cref="SegmentationResult"/>.
/// </summary>
internal sealed class SegmentationAreas
{
    private readonly long[] _intersect;
    private readonly long[] _predicted;
    private readonly long[] _labelled;

    /// <summary>Creates empty areas.</summary>
    /// <param name="numClasses">Number of classes C; labels are in [0, C).</param>
    /// <param name="ignoreIndex">Label value that marks pixels left out of every area (mmsegmentation: 255).</param>
    /// <param name="reduceZeroLabel">
    /// Label 0 is "unlabelled": it becomes <paramref name="ignoreIndex"/> and every other label is shifted down
    /// by one (as mmsegmentation's <c>reduce_zero_label</c>); the ignore value itself stays ignored.
    /// </param>
    public SegmentationAreas(int numClasses, int ignoreIndex = 255, bool reduceZeroLabel = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
        ReduceZeroLabel = reduceZeroLabel;
        _intersect = new long[numClasses];
        _predicted = new long[numClasses];
        _labelled = new long[numClasses];
    }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>The ignored label value.</summary>
    public int IgnoreIndex { get; }

    /// <summary>Whether label 0 is ignored and the others shifted down by one.</summary>
    public bool ReduceZeroLabel { get; }

    /// <summary>Pixels of class c predicted as c, per class.</summary>
    public IReadOnlyList<long> Intersection => _intersect;

    /// <summary>Pixels predicted as class c (among the not-ignored ones), per class.</summary>
    public IReadOnlyList<long> Predicted => _predicted;

    /// <summary>Pixels labelled class c, per class.</summary>
    public IReadOnlyList<long> Labelled => _labelled;

    /// <summary>Union per class: predicted + labelled − intersection.</summary>
    public IReadOnlyList<long> Union => [.. Enumerable.Range(0, NumClasses).Select(c => _predicted[c] + _labelled[c] - _intersect[c])];

    /// <summary>Adds one image's label mask and prediction (same length, row-major).</summary>
    /// <param name="label">Label values in [0, C) or <see cref="IgnoreIndex"/> (before the zero-label reduction).</param>
    /// <param name="prediction">Predicted classes; a value outside [0, C) is counted in no class (a miss), as mmsegmentation's histogram does.</param>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is neither a class nor the ignore value; the message gives its position.</exception>
    public void Add(ReadOnlySpan<int> label, ReadOnlySpan<int> prediction)
    {
        if (label.Length != prediction.Length)
            throw new ArgumentException($"label has {label.Length} pixels but prediction has {prediction.Length}.", nameof(prediction));
        for (int i = 0; i < label.Length; i++)
        {
            int l = Reduce(label[i]);
            if (l == IgnoreIndex) continue;
            if ((uint)l >= (uint)NumClasses)
                throw new ArgumentOutOfRangeException(nameof(label), label[i],
                    $"label value {label[i]} at pixel {i} is neither a class in [0, {NumClasses}) nor the ignore value {IgnoreIndex}" +
                    (ReduceZeroLabel ? " (after reduce_zero_label)." : "."));
            _labelled[l]++;
            int p = prediction[i];
            if ((uint)p < (uint)NumClasses)
            {
                _predicted[p]++;
                if (p == l) _intersect[l]++;
            }
        }
    }

    private int Reduce(int value)
    {
        if (!ReduceZeroLabel || value == IgnoreIndex) return value;
        return value == 0 ? IgnoreIndex : value - 1;
    }

    /// <summary>The scores of the accumulated areas.</summary>
    /// <exception cref="InvalidOperationException">No pixel was counted.</exception>
    public SegmentationResult Compute()
    {
        long totalLabel = _labelled.Sum();
        if (totalLabel == 0)
            throw new InvalidOperationException("No labelled pixel to score: every pixel is ignored or no image was added.");
        int k = NumClasses;
        var iou = new double[k];
        var acc = new double[k];
        var dice = new double[k];
        var precision = new double[k];
        var fscore = new double[k];
        for (int c = 0; c < k; c++)
        {
            double i = _intersect[c], p = _predicted[c], l = _labelled[c];
            iou[c] = Ratio(i, p + l - i);
            acc[c] = Ratio(i, l);
            dice[c] = Ratio(2 * i, p + l);
            precision[c] = Ratio(i, p);
            // F-beta with beta = 1: (1 + β²)·P·R / (β²·P + R); NaN propagates when P or R is 0/0.
            fscore[c] = Ratio(2 * precision[c] * acc[c], precision[c] + acc[c]);
        }

        return new SegmentationResult(
            (double)_intersect.Sum() / totalLabel,
            NanMean(iou), NanMean(acc), NanMean(dice), NanMean(fscore), NanMean(precision), NanMean(acc),
            iou, acc, dice, fscore, this);
    }

    private static double Ratio(double numerator, double denominator) =>
        double.IsNaN(numerator) || double.IsNaN(denominator) || denominator == 0 ? double.NaN : numerator / denominator;

    /// <summary>numpy's <c>nanmean</c>: the mean of the non-NaN values, NaN when there are none.</summary>
    internal static double NanMean(IReadOnlyList<double> values)
    {
        double sum = 0;
        int n = 0;
        foreach (var v in values)
        {
            if (double.IsNaN(v)) continue;
            sum += v;
            n++;
        }

        return n == 0 ? double.NaN : sum / n;
    }
}

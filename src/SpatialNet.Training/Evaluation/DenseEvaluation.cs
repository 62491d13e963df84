using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Training.Metrics;
using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>Metric names of the per-pixel kinds (fractions, as mmsegmentation's IoUMetric before its ×100).</summary>
internal static class DenseMetricNames
{
    public const string MeanIoU = "miou";
    public const string AllAccuracy = "aacc";
    public const string MeanAccuracy = "macc";
    public const string MeanDice = "mdice";
    public const string MeanFscore = "mfscore";

    /// <summary>Segmentation metrics in report order.</summary>
    public static IReadOnlyList<string> Segmentation { get; } = [MeanIoU, AllAccuracy, MeanAccuracy, MeanDice, MeanFscore];

    /// <summary>Pixel-regression metrics in report order.</summary>
    public static IReadOnlyList<string> PixelRegression { get; } = [TaskMetricNames.MeanAbsoluteError, TaskMetricNames.RootMeanSquaredError];
}

/// <summary>
/// Streams one dense task's predictions over a split into split-wide scores: areas per class for segmentation
/// (<see cref="SegmentationAreas"/>, with the majority-class baseline: that class predicted at every pixel), errors
/// over valid pixels for pixel regression (<see cref="PixelRegressionErrors"/>, with the constant training-mean baseline).
/// Nothing per pixel is kept.
/// </summary>
internal sealed class DenseEvaluation
{
    private readonly SegmentationAreas? _areas;
    private readonly SegmentationAreas? _baselineAreas;
    private readonly PixelRegressionErrors? _errors;
    private readonly PixelRegressionErrors? _baselineErrors;
    private readonly int? _majorityClass;
    private readonly double? _trainingMean;
    private double _lossSum;
    private long _lossCount;
    private int _samples;

    /// <summary>Starts an empty evaluation of <paramref name="task"/> (a segmentation or pixel-regression head's).</summary>
    /// <param name="task">The task; its <see cref="TaskDefinition.Head"/> gives classes and ignore value.</param>
    /// <param name="majorityClass">The most frequent class of the training masks (baseline), or null.</param>
    /// <param name="trainingMean">The mean training target (baseline), or null.</param>
    public DenseEvaluation(TaskDefinition task, int? majorityClass = null, double? trainingMean = null)
    {
        Task = task ?? throw new ArgumentNullException(nameof(task));
        switch (task.Head)
        {
            case SegmentationHeadOptions s:
                _areas = new SegmentationAreas(s.NumClasses, s.IgnoreIndex);
                _majorityClass = majorityClass;
                if (majorityClass is int m && m >= 0 && m < s.NumClasses) _baselineAreas = new SegmentationAreas(s.NumClasses, s.IgnoreIndex);
                break;
            case PixelRegressionHeadOptions:
                _errors = new PixelRegressionErrors();
                _trainingMean = trainingMean;
                if (trainingMean is not null) _baselineErrors = new PixelRegressionErrors();
                break;
            default:
                throw new ArgumentException($"Task '{task.Name}' ({task.Kind}) is not a per-pixel task.", nameof(task));
        }
    }

    /// <summary>The task.</summary>
    public TaskDefinition Task { get; }

    /// <summary>Whether the head of <paramref name="task"/> predicts per pixel.</summary>
    public static bool Handles(TaskDefinition task) => task?.Head is DenseHeadOptions;

    /// <summary>Adds a batch: inference outputs <c>[B, K, H, W]</c> (probabilities or values) and targets (masks <c>[B, H, W]</c>, values <c>[B, K, H, W]</c> or <c>[B, H, W]</c>).</summary>
    public void Add(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        _samples += (int)targets.shape[0];
        if (_areas is not null)
        {
            var classes = predictions.argmax(1).to(ScalarType.Int32).cpu().data<int>().ToArray();
            var labels = targets.to(ScalarType.Int32).cpu().data<int>().ToArray();
            _areas.Add(labels, classes);
            if (_baselineAreas is not null)
                _baselineAreas.Add(labels, Enumerable.Repeat(_majorityClass!.Value, labels.Length).ToArray());
            return;
        }
        var t = (targets.dim() == 3 ? targets.unsqueeze(1) : targets).to(ScalarType.Float32).cpu().data<float>().ToArray();
        var p = predictions.to(ScalarType.Float32).cpu().data<float>().ToArray();
        _errors!.Add(t, p);
        _baselineErrors?.Add(t, Enumerable.Repeat((float)_trainingMean!.Value, t.Length).ToArray());
    }

    /// <summary>Adds a batch's mean loss, weighted by its sample count.</summary>
    public void AddLoss(double loss, int samples)
    {
        _lossSum += loss * samples;
        _lossCount += samples;
    }

    /// <summary>Number of samples added.</summary>
    public int Count => _samples;

    /// <summary>The task's scores and baseline.</summary>
    public TaskEvaluation Compute()
    {
        double? loss = _lossCount > 0 ? _lossSum / _lossCount : null;
        if (_areas is not null)
        {
            var r = _areas.Compute();
            return new TaskEvaluation(Task, _samples, Scores(r), _baselineAreas is null ? null : Scores(_baselineAreas.Compute()), 1.0 / _areas.NumClasses, loss)
            {
                Segmentation = r,
            };
        }
        var e = _errors!.Compute();
        var baseline = _baselineErrors?.Compute();
        return new TaskEvaluation(Task, _samples, Errors(e), baseline is null ? null : Errors(baseline), null, loss) { PixelRegression = e };
    }

    private static Dictionary<string, double> Scores(SegmentationResult r) => new(StringComparer.Ordinal)
    {
        [DenseMetricNames.MeanIoU] = r.MeanIoU,
        [DenseMetricNames.AllAccuracy] = r.AllAccuracy,
        [DenseMetricNames.MeanAccuracy] = r.MeanAccuracy,
        [DenseMetricNames.MeanDice] = r.MeanDice,
        [DenseMetricNames.MeanFscore] = r.MeanFscore,
    };

    private static Dictionary<string, double> Errors(PixelRegressionResult r) => new(StringComparer.Ordinal)
    {
        [TaskMetricNames.MeanAbsoluteError] = r.Mae,
        [TaskMetricNames.RootMeanSquaredError] = r.Rmse,
    };
}

/// <summary>Training-split summary of per-pixel targets: pixels per class (masks, 255 left out) or the mean and spread of the finite values.</summary>
internal sealed class DenseTargetSummary(int classes)
{
    private readonly long[] _counts = new long[Math.Max(0, classes)];
    private long _values;
    private double _sum, _sumSq;

    /// <summary>Adds a batch of masks <c>[B, H, W]</c> (with classes) or values.</summary>
    public void Add(Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        if (_counts.Length > 0)
        {
            var labels = targets.reshape(-1).to(ScalarType.Int64);
            var kept = labels.masked_select(labels.ge(0).logical_and(labels.lt(_counts.Length)));
            var counts = kept.bincount(null, _counts.Length).cpu().data<long>().ToArray();
            for (int c = 0; c < _counts.Length; c++) _counts[c] += counts[c];
            return;
        }
        var values = targets.to(ScalarType.Float64).reshape(-1);
        var finite = values.masked_select(values.isfinite());
        _values += finite.shape[0];
        _sum += finite.sum().item<double>();
        _sumSq += finite.square().sum().item<double>();
    }

    /// <summary>The statistics (class counts, or one mean and standard deviation).</summary>
    public Heads.TargetStatistics Build()
    {
        if (_counts.Length > 0) return Heads.TargetStatistics.FromSummary(_counts.Sum(), _counts, null, null);
        double mean = _values > 0 ? _sum / _values : double.NaN;
        double std = _values > 0 ? Math.Sqrt(Math.Max(0, _sumSq / _values - mean * mean)) : double.NaN;
        return Heads.TargetStatistics.FromSummary(_values, null, [mean], [std]);
    }
}

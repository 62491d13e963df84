using System.Globalization;
using SpatialNet.Heads;
using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics;
using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// One task's evaluation on a split: its metrics, the same metrics for the constant-prediction
/// baseline of the training split (majority class, training mean, label prior, majority answer per
/// question type), the chance level where one is defined, and the detailed results (per-class
/// accuracy and F1, confusion matrix, per-type VQA accuracy).
/// </summary>
public sealed class TaskEvaluation
{
    internal TaskEvaluation(TaskDefinition task, int samples, IReadOnlyDictionary<string, double> metrics,
        IReadOnlyDictionary<string, double>? baseline, double? chance, double? meanLoss)
    {
        Task = task;
        Samples = samples;
        Metrics = metrics;
        Baseline = baseline;
        Chance = chance;
        MeanLoss = meanLoss;
    }

    /// <summary>The task.</summary>
    public TaskDefinition Task { get; }

    /// <summary>Number of scored samples (targets marked "none" are not counted).</summary>
    public int Samples { get; }

    /// <summary>Metric values by metric name (VQA per-type metrics expanded to <c>{type}_accuracy</c>).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>The same metrics for the baseline that always predicts from the training statistics; null without statistics.</summary>
    public IReadOnlyDictionary<string, double>? Baseline { get; }

    /// <summary>
    /// Accuracy of guessing uniformly at random: 1/C for classification, 0.5 for multi-label accuracy;
    /// null where no single chance level applies (regression, VQA).
    /// </summary>
    public double? Chance { get; }

    /// <summary>Mean loss of the task on the split, when computed.</summary>
    public double? MeanLoss { get; }

    /// <summary>Classification details (also for VQA: answers as classes), or null.</summary>
    public ClassificationResult? Classification { get; internal init; }

    /// <summary>Regression details, or null.</summary>
    public RegressionResult? Regression { get; internal init; }

    /// <summary>Multi-label details, or null.</summary>
    public MultiLabelResult? MultiLabel { get; internal init; }

    /// <summary>VQA per-type details, or null.</summary>
    public VqaResult? Vqa { get; internal init; }

    /// <summary>Segmentation details (areas and per-class scores over the split), or null.</summary>
    internal SegmentationResult? Segmentation { get; init; }

    /// <summary>Per-pixel regression errors, or null.</summary>
    internal PixelRegressionResult? PixelRegression { get; init; }

    /// <summary>VQA details of the baseline (majority answer per question type), or null.</summary>
    public VqaResult? VqaBaseline { get; internal init; }

    /// <summary>The first of the task's metrics: the one reports put first and early stopping defaults to.</summary>
    public string PrimaryMetric
    {
        get
        {
            var first = TaskMetricNames.Of(Task)[0];
            return first == TaskMetricNames.PerTypeAccuracy ? TaskMetricNames.OverallAccuracy : first;
        }
    }
}

/// <summary>
/// Collects one task's predictions and targets over a split (on the host) and scores them with
/// <see cref="ClassificationMetrics"/>, <see cref="RegressionMetrics"/>, <see cref="MultiLabelMetrics"/>
/// or <see cref="VqaMetrics"/>.
/// </summary>
public sealed class TaskPredictionSet
{
    private readonly List<int> _expected = [];
    private readonly List<int> _predicted = [];
    private readonly List<int> _groups = [];
    private readonly List<IReadOnlyList<double>> _targetRows = [];
    private readonly List<IReadOnlyList<double>> _outputRows = [];
    private double _lossSum;
    private long _lossCount;

    /// <summary>Starts an empty set for <paramref name="task"/>.</summary>
    public TaskPredictionSet(TaskDefinition task)
    {
        Task = task ?? throw new ArgumentNullException(nameof(task));
        TaskMetricNames.Of(task);
    }

    /// <summary>The task.</summary>
    public TaskDefinition Task { get; }

    /// <summary>
    /// Whether <paramref name="task"/> is a vqa task answered by a plain classifier that sees only the
    /// image: its answer probabilities p(a | image) are combined with the question type's answer
    /// frequencies of the training split, p(a | image, type) ∝ p(a | image)·p(a | type)/p(a) (Bayes'
    /// rule, image and type independent given the answer), so each question is answered among its type's answers.
    /// </summary>
    public static bool AnswersFromImageOnly(TaskDefinition task) =>
        task.Kind == TaskKind.VisualQuestionAnswering && task.Head is ClassificationHeadOptions;

    /// <summary>Number of samples added (including those without a target).</summary>
    public int Count => IsClassKind ? _expected.Count : _targetRows.Count;

    private bool IsClassKind => (Task.Kind == TaskKind.Classification || Task.Kind == TaskKind.VisualQuestionAnswering);

    /// <summary>
    /// Adds a batch: <paramref name="outputs"/> are the head's inference outputs (<c>TaskHead.Predict</c>:
    /// class or answer probabilities [B, C] — extra trailing columns beyond the labels are ignored —,
    /// values [B] or [B, K], label probabilities [B, L]); <paramref name="targets"/> the batch's targets
    /// ([B] class indices, negative for "no target"; [B] / [B, K] values; [B, L] 0/1);
    /// <paramref name="groups"/> the question types [B] (VQA).
    /// </summary>
    public void Add(Tensor outputs, Tensor targets, Tensor? groups = null)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        long b = outputs.shape[0];
        if (targets.shape[0] != b)
            throw new ArgumentException($"Task '{Task.Name}': {b} outputs but {targets.shape[0]} targets.", nameof(targets));
        if (IsClassKind)
        {
            var scores = outputs.reshape(b, -1);
            if (Task.Labels is { Count: > 0 } labels && scores.shape[1] > labels.Count)
                scores = scores.narrow(1, 0, labels.Count);
            int[]? types = null;
            if (Task.Kind == TaskKind.VisualQuestionAnswering)
            {
                if (groups is null)
                    throw new ArgumentException($"Task '{Task.Name}' is scored per question type; the batch needs the question types ('{SampleKeys.QuestionType}').", nameof(groups));
                types = groups.reshape(-1).to(ScalarType.Int32).cpu().data<int>().ToArray();
                _groups.AddRange(types);
                if (AnswersFromImageOnly(Task) && Task.Statistics is { ClassCountsByGroup: { } byType, ClassCounts: { } all })
                {
                    // p(a | image, type) ∝ p(a | image)·p(a | type)/p(a); answers the type never has get 0.
                    int a = (int)scores.shape[1];
                    double total = all.Sum();
                    var factors = new float[b * a];
                    for (int i = 0; i < b; i++)
                    {
                        if (!byType.TryGetValue(types[i], out var counts))
                        {
                            Array.Fill(factors, 1f, i * a, a);
                            continue;
                        }
                        double typeTotal = counts.Sum();
                        for (int j = 0; j < a; j++)
                            factors[i * a + j] = j < counts.Count && counts[j] > 0 ? (float)(counts[j] / typeTotal / (all[j] / total)) : 0f;
                    }
                    scores = scores.to(ScalarType.Float32) * tensor(factors, [b, a]).to(scores.device);
                }
            }
            _predicted.AddRange(scores.argmax(1).to(ScalarType.Int32).cpu().data<int>().ToArray());
            _expected.AddRange(targets.reshape(-1).to(ScalarType.Int32).cpu().data<int>().ToArray());
            return;
        }
        _outputRows.AddRange(Rows(outputs, b));
        _targetRows.AddRange(Rows(targets, b));
    }

    /// <summary>Adds a batch's mean loss, weighted by its <paramref name="samples"/>.</summary>
    public void AddLoss(double meanLoss, int samples)
    {
        _lossSum += meanLoss * samples;
        _lossCount += samples;
    }

    /// <summary>Scores everything added.</summary>
    /// <exception cref="InvalidOperationException">Nothing with a target was added.</exception>
    public TaskEvaluation Compute()
    {
        var metrics = TaskMetricNames.Of(Task);
        double? loss = _lossCount > 0 ? _lossSum / _lossCount : null;
        var stats = Task.Statistics;
        switch (Task.Kind)
        {
            case var kind_ when kind_ == TaskKind.Classification:
            {
                var (expected, predicted) = Scored(_expected, _predicted);
                var names = ClassNames(expected.Concat(predicted));
                var result = ClassificationMetrics.Compute(expected, predicted, names);
                Dictionary<string, double>? baseline = null;
                if (stats?.ClassCounts is not null)
                {
                    var majority = stats.MajorityClass;
                    baseline = ClassificationValues(ClassificationMetrics.Compute(expected, expected.Select(_ => majority).ToArray(), names), metrics);
                }
                return new TaskEvaluation(Task, expected.Length, ClassificationValues(result, metrics), baseline, 1.0 / names.Count, loss)
                {
                    Classification = result,
                };
            }
            case var kind_ when kind_ == TaskKind.VisualQuestionAnswering:
            {
                var keep = Enumerable.Range(0, _expected.Count).ToArray();
                var answers = keep.Select(i => new VqaAnswer(TypeName(_groups[i]), AnswerName(_expected[i]), AnswerName(_predicted[i]))).ToArray();
                if (answers.Length == 0)
                    throw new InvalidOperationException($"Task '{Task.Name}': no predictions to score.");
                var result = VqaMetrics.Compute(answers);
                VqaResult? baselineResult = null;
                if (stats?.ClassCounts is not null)
                {
                    baselineResult = VqaMetrics.Compute(keep.Select(i =>
                        new VqaAnswer(TypeName(_groups[i]), AnswerName(_expected[i]), AnswerName(stats.MajorityClassOf(_groups[i])))));
                }
                return new TaskEvaluation(Task, answers.Length, VqaValues(result, metrics),
                    baselineResult is null ? null : VqaValues(baselineResult, metrics), null, loss)
                {
                    Vqa = result,
                    VqaBaseline = baselineResult,
                };
            }
            case var kind_ when kind_ == TaskKind.Regression:
            {
                var (targets, outputs, columns) = FlatValues();
                var result = RegressionMetrics.Compute(targets, outputs);
                Dictionary<string, double>? baseline = null;
                if (stats?.Mean is { } mean)
                    baseline = RegressionValues(RegressionMetrics.Compute(targets, columns.Select(j => mean[j]).ToArray()), metrics);
                return new TaskEvaluation(Task, _targetRows.Count, RegressionValues(result, metrics), baseline, null, loss) { Regression = result };
            }
            case var kind_ when kind_ == TaskKind.MultiLabel:
            {
                if (_targetRows.Count == 0)
                    throw new InvalidOperationException($"Task '{Task.Name}': no predictions to score.");
                var result = MultiLabelMetrics.Compute(_targetRows, _outputRows);
                Dictionary<string, double>? baseline = null;
                if (stats?.Mean is { } prior)
                    baseline = MultiLabelValues(MultiLabelMetrics.Compute(_targetRows, _targetRows.Select(_ => prior).ToArray()), metrics);
                return new TaskEvaluation(Task, _targetRows.Count, MultiLabelValues(result, metrics), baseline, 0.5, loss) { MultiLabel = result };
            }
            default:
                throw new NotSupportedException($"Task '{Task.Name}': {Task.Kind} tasks are not scored by the evaluator.");
        }
    }

    private static IEnumerable<IReadOnlyList<double>> Rows(Tensor t, long b)
    {
        var flat = t.to(ScalarType.Float64).cpu().reshape(b, -1);
        var data = flat.data<double>().ToArray();
        int k = (int)flat.shape[1];
        for (int i = 0; i < b; i++)
            yield return data.AsSpan(i * k, k).ToArray();
    }

    private (int[] Expected, int[] Predicted) Scored(List<int> expected, List<int> predicted)
    {
        var keep = Enumerable.Range(0, expected.Count).Where(i => expected[i] >= 0).ToArray();
        if (keep.Length == 0)
            throw new InvalidOperationException($"Task '{Task.Name}': no sample with a target to score.");
        return (keep.Select(i => expected[i]).ToArray(), keep.Select(i => predicted[i]).ToArray());
    }

    // Regression pairs whose target is a number (NaN marks "no target", as RSVQA's non-count questions),
    // with the output column each comes from.
    private (double[] Targets, double[] Outputs, int[] Columns) FlatValues()
    {
        var targets = new List<double>();
        var outputs = new List<double>();
        var columns = new List<int>();
        for (int i = 0; i < _targetRows.Count; i++)
        {
            for (int j = 0; j < _targetRows[i].Count; j++)
            {
                if (double.IsNaN(_targetRows[i][j]))
                    continue;
                targets.Add(_targetRows[i][j]);
                outputs.Add(_outputRows[i][j]);
                columns.Add(j);
            }
        }
        if (targets.Count == 0)
            throw new InvalidOperationException($"Task '{Task.Name}': no target values to score.");
        return ([.. targets], [.. outputs], [.. columns]);
    }

    private IReadOnlyList<string> ClassNames(IEnumerable<int> seen)
    {
        if (Task.Labels is { Count: > 0 } labels)
            return labels;
        int count = Math.Max(seen.DefaultIfEmpty(0).Max() + 1, Task.Statistics?.ClassCounts?.Count ?? 0);
        return Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    private string AnswerName(int index) => index < 0
        ? VqaMetrics.OutOfVocabulary
        : Task.Labels is { } labels && index < labels.Count ? labels[index] : index.ToString(CultureInfo.InvariantCulture);

    private static string TypeName(int type) =>
        Enum.IsDefined((RsvqaQuestionType)type) ? ((RsvqaQuestionType)type).ToWireName() : type.ToString(CultureInfo.InvariantCulture);

    private static Dictionary<string, double> ClassificationValues(ClassificationResult r, IReadOnlyList<string> metrics) =>
        metrics.ToDictionary(m => m, m => m switch
        {
            TaskMetricNames.Accuracy => r.Accuracy,
            _ => r.MacroF1,
        }, StringComparer.Ordinal);

    private static Dictionary<string, double> RegressionValues(RegressionResult r, IReadOnlyList<string> metrics) =>
        metrics.ToDictionary(m => m, m => m == TaskMetricNames.MeanAbsoluteError ? r.Mae : r.Rmse, StringComparer.Ordinal);

    private static Dictionary<string, double> MultiLabelValues(MultiLabelResult r, IReadOnlyList<string> metrics) =>
        metrics.ToDictionary(m => m, m => m switch
        {
            TaskMetricNames.Accuracy => r.Accuracy,
            TaskMetricNames.MicroF1 => r.MicroF1,
            TaskMetricNames.MacroF1 => r.MacroF1,
            _ => r.MeanAveragePrecision,
        }, StringComparer.Ordinal);

    private static Dictionary<string, double> VqaValues(VqaResult r, IReadOnlyList<string> metrics)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var m in metrics)
        {
            switch (m)
            {
                case TaskMetricNames.PerTypeAccuracy:
                    foreach (var (type, acc) in r.PerType)
                        values[type + TaskMetricNames.PerTypeSuffix] = acc.Accuracy;
                    break;
                case TaskMetricNames.AverageAccuracy:
                    values[m] = r.AverageAccuracy;
                    break;
                case TaskMetricNames.AverageOverallMean:
                    values[m] = (r.AverageAccuracy + r.OverallAccuracy) / 2;
                    break;
                default:
                    values[m] = r.OverallAccuracy;
                    break;
            }
        }
        return values;
    }
}

using System.Globalization;

namespace SpatialNet.Training.Metrics;

/// <summary>
/// The RSVQA question types (Lobry et al., 2020) as the dataset files spell them. This is the one
/// definition of the spellings: the dataset reader (<c>SpatialNet.Training.Data.RsvqaQuestionTypeNames</c>)
/// maps its enum onto these, so what the reader parses is exactly what the metric scores.
/// </summary>
public static class RsvqaQuestionTypes
{
    /// <summary>"Is it a rural or an urban area?"</summary>
    public const string RuralUrban = "rural_urban";

    /// <summary>"Is there a …?" (yes/no).</summary>
    public const string Presence = "presence";

    /// <summary>"How many … are there?" (answers scored as bins).</summary>
    public const string Count = "count";

    /// <summary>Comparisons between objects (yes/no).</summary>
    public const string Comparison = "comp";

    /// <summary>"What is the area covered by …?" (RSVQA-HR only; not part of <see cref="All"/>).</summary>
    public const string Area = "area";

    /// <summary>All four RSVQA-LR types, in the order the paper's Table II reports them.</summary>
    public static IReadOnlyList<string> All { get; } = [Count, Presence, Comparison, RuralUrban];
}

/// <summary>
/// The count bins the RSVQA baseline scores count answers with: 0, 1–10, 11–100, 101–1000 and more
/// than 1000. (The baseline's own label strings read "between 0 and 10" etc.; the boundaries are the same.)
/// This is the one definition of the bins: the dataset's labels and the metric both use it.
/// </summary>
public static class CountAnswerBins
{
    /// <summary>Label of a count of exactly 0.</summary>
    public const string Zero = "0";

    /// <summary>Label of counts 1..10.</summary>
    public const string UpTo10 = "between 1 and 10";

    /// <summary>Label of counts 11..100.</summary>
    public const string UpTo100 = "between 11 and 100";

    /// <summary>Label of counts 101..1000.</summary>
    public const string UpTo1000 = "between 101 and 1000";

    /// <summary>Label of counts above 1000.</summary>
    public const string MoreThan1000 = "more than 1000";

    /// <summary>The bin labels in increasing order.</summary>
    public static IReadOnlyList<string> Labels { get; } = [Zero, UpTo10, UpTo100, UpTo1000, MoreThan1000];

    /// <summary>Maps a raw object count to its bin index (0–4, the position in <see cref="Labels"/>).</summary>
    /// <param name="count">A non-negative count.</param>
    /// <returns>The bin index.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the count is negative.</exception>
    public static int ToBinIndex(long count) => count switch
    {
        < 0 => throw new ArgumentOutOfRangeException(nameof(count), $"A count cannot be negative; got {count}."),
        0 => 0,
        <= 10 => 1,
        <= 100 => 2,
        <= 1000 => 3,
        _ => 4,
    };

    /// <summary>Maps a raw object count to its bin label.</summary>
    /// <param name="count">A non-negative count.</param>
    /// <returns>The bin label.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the count is negative.</exception>
    public static string ToBin(long count) => Labels[ToBinIndex(count)];

    /// <summary>The bin label of an area answer such as "1234m2" or "0m2" (same boundaries, in m²).</summary>
    public static string? AreaLabelOf(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var text = answer.Trim();
        if (!text.EndsWith("m2", StringComparison.Ordinal)) return null;
        if (!double.TryParse(text[..^2], NumberStyles.Float, CultureInfo.InvariantCulture, out var area) || area < 0) return null;
        return area switch
        {
            0 => "0m2",
            <= 10 => "between 0m2 and 10m2",
            <= 100 => "between 10m2 and 100m2",
            <= 1000 => "between 100m2 and 1000m2",
            _ => "more than 1000m2",
        };
    }

    /// <summary>
    /// Maps a count answer to a bin label: a non-negative integer (e.g. "12") becomes its bin; a string
    /// that already is one of <see cref="Labels"/> is returned unchanged; anything else is returned
    /// unchanged too, so that it simply fails to match.
    /// </summary>
    /// <param name="answer">A raw or binned count answer.</param>
    /// <returns>The bin label, or the trimmed answer when it is not a count.</returns>
    public static string Normalize(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var trimmed = answer.Trim();
        return long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? ToBin(n) : trimmed;
    }
}

/// <summary>One answered VQA question.</summary>
/// <param name="QuestionType">The question type (see <see cref="RsvqaQuestionTypes"/>).</param>
/// <param name="Expected">The ground-truth answer.</param>
/// <param name="Predicted">The model's answer.</param>
public sealed record VqaAnswer(string QuestionType, string Expected, string Predicted);

/// <summary>Right/total for one question type.</summary>
/// <param name="Correct">Questions answered right.</param>
/// <param name="Total">Questions of the type.</param>
public sealed record VqaTypeAccuracy(long Correct, long Total)
{
    /// <summary>Correct / Total.</summary>
    public double Accuracy => Correct / (double)Total;
}

/// <summary>VQA scores in the layout of the RSVQA paper's Table II.</summary>
/// <param name="PerType">Accuracy per question type present, keyed by type.</param>
/// <param name="AverageAccuracy">AA: the mean of the per-type accuracies (over the types present).</param>
/// <param name="OverallAccuracy">OA: all right answers / all questions.</param>
/// <param name="Confusion">Confusion matrix over every answer seen (after count binning), rows = expected.</param>
public sealed record VqaResult(
    IReadOnlyDictionary<string, VqaTypeAccuracy> PerType,
    double AverageAccuracy,
    double OverallAccuracy,
    ConfusionMatrix Confusion);

/// <summary>
/// RSVQA accuracy as the baseline (Lobry et al., 2020) reports it: accuracy per question type, the
/// average accuracy AA over types, the overall accuracy OA, with count answers compared as bins.
/// </summary>
public static class VqaMetrics
{
    /// <summary>The expected answer of a question whose truth is outside the training answers: always wrong, never an error.</summary>
    internal const string OutOfVocabulary = "<no answer in vocabulary>";

    /// <summary>Scores a list of answered questions.</summary>
    /// <param name="answers">The answers.</param>
    /// <param name="binCounts">
    /// When true (default), answers to <c>count</c> questions are mapped through
    /// <see cref="CountAnswerBins.Normalize"/> on both sides before comparing, as the baseline does.
    /// </param>
    /// <returns>Per-type accuracy, AA, OA and the confusion matrix.</returns>
    /// <exception cref="ArgumentException">When the list is empty, a question type is empty, or (binning counts) an expected count answer is not a count.</exception>
    public static VqaResult Compute(IEnumerable<VqaAnswer> answers, bool binCounts = true)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var perType = new Dictionary<string, (long Correct, long Total)>(StringComparer.Ordinal);
        var typeOrder = new List<string>();
        var pairs = new List<(string Expected, string Predicted)>();
        var labels = new List<string>();
        var labelSet = new HashSet<string>(StringComparer.Ordinal);
        long correct = 0;
        foreach (var a in answers)
        {
            ArgumentNullException.ThrowIfNull(a);
            if (string.IsNullOrEmpty(a.QuestionType))
            {
                throw new ArgumentException("Every answer needs a question type (rural_urban, presence, count or comp).", nameof(answers));
            }

            string expected = a.Expected ?? throw new ArgumentException("An answer's expected value is null.", nameof(answers));
            string predicted = a.Predicted ?? throw new ArgumentException("An answer's predicted value is null.", nameof(answers));
            if (binCounts && a.QuestionType == RsvqaQuestionTypes.Count)
            {
                // The truth must be a count (or a bin): "many" == "many" is no right answer.
                expected = CountAnswerBins.Normalize(expected);
                if (!CountAnswerBins.Labels.Contains(expected) && a.Expected != OutOfVocabulary)
                    throw new ArgumentException($"answers[{pairs.Count}].expected: count answer '{a.Expected}' is neither a non-negative integer nor a count bin " +
                        $"({string.Join(", ", CountAnswerBins.Labels)}); with count binning on, counts are compared as bins.", nameof(answers));
                predicted = CountAnswerBins.Normalize(predicted);
            }

            bool right = string.Equals(expected, predicted, StringComparison.Ordinal);
            if (!perType.TryGetValue(a.QuestionType, out var t))
            {
                typeOrder.Add(a.QuestionType);
            }

            perType[a.QuestionType] = (t.Correct + (right ? 1 : 0), t.Total + 1);
            correct += right ? 1 : 0;
            pairs.Add((expected, predicted));
            foreach (var label in new[] { expected, predicted })
            {
                if (labelSet.Add(label))
                {
                    labels.Add(label);
                }
            }
        }

        if (pairs.Count == 0)
        {
            throw new ArgumentException("Cannot score an empty list of answers.", nameof(answers));
        }

        var confusion = new ConfusionMatrix(labels);
        foreach (var (e, p) in pairs)
        {
            confusion.Add(e, p);
        }

        // Report the known types in Table II order, then any others in order of appearance.
        var ordered = RsvqaQuestionTypes.All.Where(perType.ContainsKey).Concat(typeOrder.Where(t => !RsvqaQuestionTypes.All.Contains(t)));
        var result = new Dictionary<string, VqaTypeAccuracy>(StringComparer.Ordinal);
        foreach (var type in ordered)
        {
            result[type] = new VqaTypeAccuracy(perType[type].Correct, perType[type].Total);
        }

        double aa = NumpySummation.Mean(result.Values.Select(v => v.Accuracy).ToArray());
        return new VqaResult(result, aa, correct / (double)pairs.Count, confusion);
    }
}

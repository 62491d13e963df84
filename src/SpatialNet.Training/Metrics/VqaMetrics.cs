
namespace SpatialNet.Training.Metrics;

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

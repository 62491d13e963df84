using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// One RSVQA question as the baselines and the metrics see it: its type (file spelling, e.g.
/// <c>comp</c>), its text as written, and its answer label (counts as the baseline's bins).
/// </summary>
/// <param name="QuestionType">The type, one of <see cref="RsvqaQuestionTypes.All"/> (or HR's <c>area</c>).</param>
/// <param name="Question">The question text as written in the file.</param>
/// <param name="Answer">The answer label; a count answer may be a raw integer or a bin label (both are binned).</param>
public sealed record VqaExample(string QuestionType, string Question, string Answer)
{
    /// <summary>The example of a question read by <see cref="RsvqaDataset"/> (its <see cref="RsvqaQuestion.AnswerLabel"/>).</summary>
    public static VqaExample From(RsvqaQuestion question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return new VqaExample(question.Type.ToWireName(), question.Text, question.AnswerLabel);
    }

    /// <summary>The answer label used for counting and scoring: count answers mapped to their bin (<see cref="CountAnswerBins.Normalize"/>).</summary>
    public string Label => QuestionType == RsvqaQuestionTypes.Count ? CountAnswerBins.Normalize(Answer) : Answer;
}

/// <summary>A system that answers a question from its type and text alone (no image).</summary>
public interface IVqaBaseline
{
    /// <summary>Name of the system in reports.</summary>
    string Name { get; }

    /// <summary>The answer label for a question of <paramref name="questionType"/> reading <paramref name="question"/>.</summary>
    string Predict(string questionType, string question);
}

/// <summary>
/// The majority answer per question type, counted on the training split.
/// Count answers are counted in the baseline's bins. Ties go to the
/// label seen first in the training data.
/// </summary>
public sealed class MajorityPerTypeBaseline : IVqaBaseline
{
    /// <summary>The name used in reports.</summary>
    public const string DefaultName = "Majority answer per question type";

    private readonly Dictionary<string, string> _majority;

    /// <summary>Counts the training examples.</summary>
    /// <param name="training">Training questions; at least one.</param>
    /// <exception cref="ArgumentException">No training example.</exception>
    public MajorityPerTypeBaseline(IEnumerable<VqaExample> training)
    {
        ArgumentNullException.ThrowIfNull(training);
        var counts = AnswerCounts.ByKey(training, e => e.QuestionType);
        if (counts.Count == 0) throw new ArgumentException("The majority baseline needs at least one training question.", nameof(training));
        _majority = counts.ToDictionary(kv => kv.Key, kv => AnswerCounts.MostFrequent(kv.Value), StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public string Name => DefaultName;

    /// <summary>The majority label of each question type seen in training.</summary>
    public IReadOnlyDictionary<string, string> Majority => _majority;

    /// <inheritdoc/>
    /// <exception cref="KeyNotFoundException">The type never occurs in training.</exception>
    public string Predict(string questionType, string question)
    {
        ArgumentNullException.ThrowIfNull(questionType);
        return _majority.TryGetValue(questionType, out var answer)
            ? answer
            : throw new KeyNotFoundException($"Question type '{questionType}' does not occur in the training questions; types seen: {string.Join(", ", _majority.Keys.Order(StringComparer.Ordinal))}.");
    }
}

/// <summary>
/// The question-only lookup: the most frequent training answer of the same normalised
/// question text (<see cref="Normalize"/>), or the type's majority answer when the text never occurs
/// in training. It never sees the image, so a model that does not beat it has not used the image.
/// </summary>
/// <remarks>
/// Ties between answers of one text go to the answer seen first (for that text) in the training
/// data, in file order. This is the rule that gives the published baseline figures on the RSVQA-LR sample (val AA
/// 72.85, OA 78.64); breaking ties towards the type's majority instead gives 72.62 and 78.39, so
/// about a quarter of a point of either figure is tie-breaking.
/// </remarks>
public sealed class QuestionOnlyLookupBaseline : IVqaBaseline
{
    /// <summary>The name used in reports.</summary>
    public const string DefaultName = "Question-only lookup (same normalised question)";

    private readonly Dictionary<(string Type, string Text), string> _lookup;

    /// <summary>Counts the training examples.</summary>
    /// <param name="training">Training questions; at least one.</param>
    /// <exception cref="ArgumentException">No training example.</exception>
    public QuestionOnlyLookupBaseline(IEnumerable<VqaExample> training)
    {
        ArgumentNullException.ThrowIfNull(training);
        var list = training.ToArray();
        Fallback = new MajorityPerTypeBaseline(list);
        var counts = AnswerCounts.ByKey(list, e => (e.QuestionType, Normalize(e.Question)));
        _lookup = counts.ToDictionary(kv => kv.Key, kv => AnswerCounts.MostFrequent(kv.Value));
    }

    /// <inheritdoc/>
    public string Name => DefaultName;

    /// <summary>The per-type majority used for questions not seen in training.</summary>
    public MajorityPerTypeBaseline Fallback { get; }

    /// <summary>Number of distinct (type, normalised text) pairs seen in training.</summary>
    public int DistinctQuestions => _lookup.Count;

    /// <summary>
    /// The question normalisation of the lookup: lower case (invariant culture), runs of white space
    /// collapsed to one space and trimmed, trailing '?' removed — "Is there a  road?" and
    /// "is there a road" are the same question. Same rule as <see cref="RsvqaQuestion.NormalizeText"/>.
    /// </summary>
    public static string Normalize(string question) => RsvqaQuestion.NormalizeText(question);

    /// <summary>Whether the normalised question of this type occurs in training.</summary>
    public bool Knows(string questionType, string question) => _lookup.ContainsKey((questionType, Normalize(question)));

    /// <inheritdoc/>
    public string Predict(string questionType, string question)
    {
        ArgumentNullException.ThrowIfNull(questionType);
        ArgumentNullException.ThrowIfNull(question);
        return _lookup.TryGetValue((questionType, Normalize(question)), out var answer) ? answer : Fallback.Predict(questionType, question);
    }
}

/// <summary>Scores baselines on a split.</summary>
public static class VqaBaselines
{
    /// <summary>The answers of <paramref name="baseline"/> to <paramref name="questions"/>, scored per type, AA and OA (counts in bins).</summary>
    public static VqaResult Score(IVqaBaseline baseline, IEnumerable<VqaExample> questions)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(questions);
        return VqaMetrics.Compute(questions.Select(q => new VqaAnswer(q.QuestionType, q.Answer, baseline.Predict(q.QuestionType, q.Question))));
    }

    /// <summary>Both VQA baselines, fitted on <paramref name="training"/>: the majority per type and the question-only lookup.</summary>
    public static IReadOnlyList<IVqaBaseline> Fit(IEnumerable<VqaExample> training)
    {
        var lookup = new QuestionOnlyLookupBaseline(training);
        return [lookup.Fallback, lookup];
    }
}

/// <summary>Answer-label counting shared by the baselines: how often each label occurs per key, and where it first occurs.</summary>
internal static class AnswerCounts
{
    public static Dictionary<TKey, Dictionary<string, (int Count, int First)>> ByKey<TKey>(IEnumerable<VqaExample> examples, Func<VqaExample, TKey> key)
        where TKey : notnull
    {
        var counts = new Dictionary<TKey, Dictionary<string, (int Count, int First)>>();
        var position = 0;
        foreach (var e in examples)
        {
            ArgumentNullException.ThrowIfNull(e);
            if (string.IsNullOrEmpty(e.QuestionType) || e.Question is null || e.Answer is null)
                throw new ArgumentException($"A VQA example needs a question type, a question and an answer; got {e}.", nameof(examples));
            var k = key(e);
            if (!counts.TryGetValue(k, out var answers)) counts[k] = answers = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
            answers[e.Label] = answers.TryGetValue(e.Label, out var seen) ? (seen.Count + 1, seen.First) : (1, position);
            position++;
        }
        return counts;
    }

    /// <summary>The most frequent label; on a tie the one that occurs first in the data.</summary>
    public static string MostFrequent(Dictionary<string, (int Count, int First)> counts) =>
        counts.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Value.First).First().Key;
}

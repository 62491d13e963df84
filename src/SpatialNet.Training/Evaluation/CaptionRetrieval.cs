using System.Text;

namespace SpatialNet.Training.Evaluation;

/// <summary>How <see cref="CaptionRetrieval"/> chooses among captions that are equally frequent.</summary>
public enum CaptionTieBreak
{
    /// <summary>The caption that appears first in the training data (default).</summary>
    FirstSeen,

    /// <summary>The caption whose normalised text sorts first (ordinal), whatever the data order.</summary>
    Ordinal,
}

/// <summary>
/// The retrieval caption baseline: for a predicted class, the most frequent training caption of
/// that class. On UCM-caption, a perfect land-use classifier with this rule already scores close to
/// published captioning models, so every captioning report shows it beside the model.
/// </summary>
/// <remarks>
/// Captions are counted by their normalised text (by default: trimmed, runs of white space made one
/// space, lower-cased invariantly); the caption returned is the first training text with the winning
/// normalised form. Ties are broken by <see cref="CaptionTieBreak"/>.
/// </remarks>
public sealed class CaptionRetrieval
{
    private readonly Dictionary<int, string> byClass;

    /// <summary>Builds the baseline from (class, caption) pairs of the training split.</summary>
    /// <param name="training">Training captions with the class of their image, in data order.</param>
    /// <param name="tieBreak">Rule among equally frequent captions.</param>
    /// <param name="normalize">Key under which captions are counted; null uses <see cref="Normalize"/>.</param>
    /// <exception cref="ArgumentException">A caption is null.</exception>
    public CaptionRetrieval(IEnumerable<(int Label, string Caption)> training, CaptionTieBreak tieBreak = CaptionTieBreak.FirstSeen,
        Func<string, string>? normalize = null)
    {
        ArgumentNullException.ThrowIfNull(training);
        var groups = new Dictionary<int, List<string>>();
        foreach (var (label, caption) in training)
        {
            if (caption is null)
            {
                throw new ArgumentException($"Training caption of class {label} is null.", nameof(training));
            }

            if (!groups.TryGetValue(label, out var list))
            {
                groups[label] = list = [];
            }

            list.Add(caption);
        }

        byClass = groups.ToDictionary(g => g.Key, g => MostFrequent(g.Value, tieBreak, normalize ?? Normalize));
        TieBreak = tieBreak;
    }

    /// <summary>Tie rule in use.</summary>
    public CaptionTieBreak TieBreak { get; }

    /// <summary>Classes that have training captions.</summary>
    public IReadOnlyCollection<int> Classes => byClass.Keys;

    /// <summary>The retrieved caption of each class.</summary>
    public IReadOnlyDictionary<int, string> CaptionsByClass => byClass;

    /// <summary>The most frequent training caption of class <paramref name="label"/>.</summary>
    /// <exception cref="KeyNotFoundException">The class had no training caption.</exception>
    public string CaptionFor(int label) => byClass.TryGetValue(label, out var caption)
        ? caption
        : throw new KeyNotFoundException($"Class {label} has no training caption; classes with captions: {string.Join(", ", byClass.Keys.Order())}.");

    /// <summary>The retrieved caption of each predicted class, in order.</summary>
    public IReadOnlyList<string> CaptionsFor(IEnumerable<int> predictedLabels)
    {
        ArgumentNullException.ThrowIfNull(predictedLabels);
        return predictedLabels.Select(CaptionFor).ToArray();
    }

    /// <summary>The default counting key: trimmed, runs of white space replaced by one space, lower-case (invariant).</summary>
    public static string Normalize(string caption)
    {
        ArgumentNullException.ThrowIfNull(caption);
        var builder = new StringBuilder(caption.Length);
        bool space = false;
        foreach (char c in caption.Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    /// <summary>
    /// The most frequent caption of <paramref name="captions"/> (counted by <paramref name="normalize"/>d
    /// text; ties by <paramref name="tieBreak"/>); the first text seen with the winning key is returned.
    /// </summary>
    /// <exception cref="ArgumentException">No captions.</exception>
    public static string MostFrequent(IEnumerable<string> captions, CaptionTieBreak tieBreak = CaptionTieBreak.FirstSeen, Func<string, string>? normalize = null)
    {
        ArgumentNullException.ThrowIfNull(captions);
        normalize ??= Normalize;
        var counts = new Dictionary<string, (int Count, int FirstSeen, string Text)>(StringComparer.Ordinal);
        int position = 0;
        foreach (var caption in captions)
        {
            var key = normalize(caption);
            counts[key] = counts.TryGetValue(key, out var entry)
                ? entry with { Count = entry.Count + 1 }
                : (1, position, caption);
            position++;
        }

        if (counts.Count == 0)
        {
            throw new ArgumentException("At least one caption is needed.", nameof(captions));
        }

        var ranked = counts.OrderByDescending(c => c.Value.Count);
        var best = tieBreak == CaptionTieBreak.Ordinal
            ? ranked.ThenBy(c => c.Key, StringComparer.Ordinal).First()
            : ranked.ThenBy(c => c.Value.FirstSeen).First();
        return best.Value.Text;
    }
}

namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>
/// Meteor 1.5's English function-word list (a frequency list of 93 entries, compared after
/// lowercasing). Function words count with weight 1 − δ, content words with δ.
/// </summary>
internal static class MeteorFunctionWords
{
    /// <summary>The English list, as shipped with Meteor 1.5.</summary>
    public static IReadOnlySet<string> English { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "the", ",", ".", "to", "of", "and", "a", "in", "that", "for", "\"", "is",
        "on", "'s", "it", "with", "was", "as", "said", "at", "he", "by", "be", "from",
        "have", "has", "are", "his", "but", "an", "this", "not", "i", "will", "’", "they",
        ")", "-rrb-", "(", "-lrb-", "who", "their", "had", "we", "which", "were", "been", "more",
        "or", "s", "its", "would", "about", "new", "one", "after", "you", ":", "also", "up",
        "when", "there", "than", "$", "all", "out", "her", "people", "she", "year", "two", "-",
        "can", "if", "last", "first", "“", "over", "other", "”", "into", "some", "what", "so",
        "--", "no", "time", "years", "could", "?", "'t", "—", "'",
    };
}

using System.Globalization;

namespace SpatialNet.Training.Metrics;

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

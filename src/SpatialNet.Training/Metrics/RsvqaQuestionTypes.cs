
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

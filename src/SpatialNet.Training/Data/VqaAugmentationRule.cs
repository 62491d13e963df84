
namespace SpatialNet.Training.Data;

/// <summary>
/// The RSVQA baseline's augmentation rule (Lobry et al., TGRS 2020): flips and rotations change the
/// answer of a question about position, so they are not applied to a sample whose question mentions
/// left, right, top or bottom. Words are matched whole and case-insensitively ("Top" matches,
/// "stop" and "bright" do not).
/// </summary>
public static class VqaAugmentationRule
{
    /// <summary>The position words that forbid geometric transforms.</summary>
    public static IReadOnlyList<string> PositionWords { get; } = ["left", "right", "top", "bottom"];

    /// <summary>True when geometric transforms may be applied to an image asked <paramref name="question"/>.</summary>
    public static bool AllowsGeometric(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        var start = -1;
        for (var i = 0; i <= question.Length; i++)
        {
            var isLetter = i < question.Length && char.IsLetter(question[i]);
            if (isLetter && start < 0) start = i;
            if (isLetter || start < 0) continue;
            var word = question.AsSpan(start, i - start);
            foreach (var position in PositionWords)
                if (word.Equals(position, StringComparison.OrdinalIgnoreCase)) return false;
            start = -1;
        }
        return true;
    }
}

using SpatialNet.Training.Metrics;

namespace SpatialNet.Training.Data;

/// <summary>RSVQA question types (Lobry et al., TGRS 2020). The integer values are the <c>question_type</c> tensor.</summary>
public enum RsvqaQuestionType
{
    /// <summary><c>rural_urban</c>: "Is it a rural or an urban area" → rural / urban (LR only).</summary>
    RuralUrban = 0,

    /// <summary><c>presence</c>: "Is there a …?" → yes / no.</summary>
    Presence = 1,

    /// <summary><c>count</c>: "How many …?" → an integer (scored in bins on LR).</summary>
    Count = 2,

    /// <summary><c>comp</c>: "Are there more … than …?" → yes / no.</summary>
    Comparison = 3,

    /// <summary><c>area</c>: "What is the area covered by …?" → e.g. "1234m2" (HR only).</summary>
    Area = 4,
}

/// <summary>
/// Maps <see cref="RsvqaQuestionType"/> to and from the names the RSVQA files use. The spellings themselves are
/// defined once, as constants in <see cref="RsvqaQuestionTypes"/> (the metrics layer, which has no dataset dependency);
/// this class only maps the enum onto them.
/// </summary>
public static class RsvqaQuestionTypeNames
{
    /// <summary>The four types of RSVQA-LR, in <see cref="RsvqaQuestionType"/> order (the paper's Table II).</summary>
    public static IReadOnlyList<RsvqaQuestionType> LowResolutionTypes { get; } =
        [RsvqaQuestionType.RuralUrban, RsvqaQuestionType.Presence, RsvqaQuestionType.Count, RsvqaQuestionType.Comparison];

    /// <summary>Every accepted file spelling, in enum order.</summary>
    public static IReadOnlyList<string> WireNames { get; } =
        [RsvqaQuestionTypes.RuralUrban, RsvqaQuestionTypes.Presence, RsvqaQuestionTypes.Count, RsvqaQuestionTypes.Comparison, RsvqaQuestionTypes.Area];

    /// <summary>The file spelling of a type (e.g. "comp").</summary>
    public static string ToWireName(this RsvqaQuestionType type) => WireNames[(int)type];

    /// <summary>Parses a file spelling; an unknown one is a <see cref="DatasetFormatException"/> naming the file and field.</summary>
    public static RsvqaQuestionType Parse(string value, string file, string field)
    {
        var index = WireNames.ToList().IndexOf(value);
        if (index < 0)
            throw new DatasetFormatException(file, field, $"unknown question type '{value}'; allowed: {string.Join(", ", WireNames)}.");
        return (RsvqaQuestionType)index;
    }
}

/// <summary>How count (and area) answers become classifier labels.</summary>
public enum RsvqaCountEncoding
{
    /// <summary>The RSVQA-LR baseline's bins (<see cref="CountAnswerBins"/>).</summary>
    Bins,

    /// <summary>The number itself as a label (e.g. "13"), as RSVQA-HR baselines use.</summary>
    Raw,
}

/// <summary>Where a release keeps its files: the JSON prefix and the image folder.</summary>
/// <param name="FilePrefix">The part before <c>_split_</c> in the JSON file names.</param>
/// <param name="ImageFolder">The folder of <c>&lt;id&gt;.tif</c> images, relative to the root.</param>
/// <param name="DownloadHint">Where to get the release (shown when files are missing).</param>
public sealed record RsvqaVariant(string FilePrefix, string ImageFolder, string DownloadHint)
{
    /// <summary>RSVQA-LR (Sentinel-2, 256×256): <c>LR_split_*</c> + <c>Images_LR/</c>.</summary>
    public static RsvqaVariant LowResolution { get; } = new("LR", "Images_LR", "RSVQA-LR is distributed at Zenodo, doi:10.5281/zenodo.6344334");

    /// <summary>RSVQA-HR (USGS aerial, 512×512): <c>USGS_split_*</c> + <c>Data/</c> (splits train, val, test, test_phili).</summary>
    public static RsvqaVariant HighResolution { get; } = new("USGS", "Data", "RSVQA-HR is distributed at Zenodo, doi:10.5281/zenodo.6344367");
}

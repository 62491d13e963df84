using SpatialNet.Training.Metrics.Captioning;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// The one place where the caption metric names (<see cref="TaskMetricNames"/>: <c>bleu_1</c> …
/// <c>cider</c>, the names tasks ask for and reports key by) meet the caption metrics' COCO names
/// (<see cref="CaptionScores.MetricNames"/>: <c>Bleu_1</c> … <c>CIDEr</c>, the names
/// <see cref="CaptionScorer"/> and the COCO evaluation code produce).
/// </summary>
public static class CaptionMetricNames
{
    private static readonly (string Core, string Coco)[] Map =
    [
        (TaskMetricNames.Bleu1, "Bleu_1"),
        (TaskMetricNames.Bleu2, "Bleu_2"),
        (TaskMetricNames.Bleu3, "Bleu_3"),
        (TaskMetricNames.Bleu4, "Bleu_4"),
        (TaskMetricNames.Meteor, "METEOR"),
        (TaskMetricNames.RougeL, "ROUGE_L"),
        (TaskMetricNames.Cider, "CIDEr"),
    ];

    /// <summary>Core's caption metric names in the paper's Table I order (BLEU-1..4, METEOR, ROUGE-L, CIDEr).</summary>
    public static IReadOnlyList<string> All { get; } = Map.Select(m => m.Core).ToArray();

    /// <summary>The COCO name of Core metric <paramref name="coreName"/> (<c>bleu_4</c> → <c>Bleu_4</c>).</summary>
    /// <exception cref="ArgumentException">Not a caption metric; the message lists the allowed names.</exception>
    public static string ToCoco(string coreName)
    {
        ArgumentNullException.ThrowIfNull(coreName);
        foreach (var (core, coco) in Map)
        {
            if (core == coreName)
                return coco;
        }
        throw new ArgumentException($"'{coreName}' is not a caption metric; allowed: {string.Join(", ", All)}.", nameof(coreName));
    }

    /// <summary>The Core name of COCO metric <paramref name="cocoName"/> (<c>Bleu_4</c> → <c>bleu_4</c>).</summary>
    /// <exception cref="ArgumentException">Not a COCO caption metric; the message lists the allowed names.</exception>
    public static string ToCore(string cocoName)
    {
        ArgumentNullException.ThrowIfNull(cocoName);
        foreach (var (core, coco) in Map)
        {
            if (coco == cocoName)
                return core;
        }
        throw new ArgumentException($"'{cocoName}' is not a COCO caption metric; allowed: {string.Join(", ", Map.Select(m => m.Coco))}.", nameof(cocoName));
    }

    /// <summary>
    /// Corpus scores keyed by COCO names re-keyed by Core names, in Table I order; metrics that were
    /// not computed (METEOR when switched off) are left out.
    /// </summary>
    public static IReadOnlyDictionary<string, double> ToCore(IReadOnlyDictionary<string, double> cocoScores)
    {
        ArgumentNullException.ThrowIfNull(cocoScores);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (core, coco) in Map)
        {
            if (cocoScores.TryGetValue(coco, out var value))
                result[core] = value;
        }
        return result;
    }
}

using SpatialNet.Heads;

namespace SpatialNet.Training.Evaluation;

/// <summary>The <c>caption</c> kind in training: BLEU, METEOR, ROUGE-L and CIDEr-D.</summary>
internal sealed class CaptionTraining : CaptionTaskKind, ITrainingTaskKind
{
    public IReadOnlyList<string> Metrics => CaptionMetricNames.All;

    public bool ClassIndexTargets => true;
}

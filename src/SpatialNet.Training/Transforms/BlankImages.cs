using SpatialNet.Training.Data;
using TorchSharp;

namespace SpatialNet.Training.Transforms;

/// <summary>Replaces every image by zeros — the mean colour once normalised — for the blanked-image ablation.</summary>
internal sealed class BlankImages : IBatchTransform
{
    /// <inheritdoc />
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Set(SampleKeys.Image, torch.zeros_like(batch[SampleKeys.Image]));
    }
}

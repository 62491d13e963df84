using SpatialNet.Training.Data;

namespace SpatialNet.Training.Transforms;

/// <summary>Runs transforms in order; reseeding gives each random transform its own derived seed.</summary>
public sealed class BatchTransformPipeline : IRandomBatchTransform
{
    /// <summary>Creates the pipeline.</summary>
    public BatchTransformPipeline(params IBatchTransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        Transforms = transforms.ToArray();
    }

    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<IBatchTransform> Transforms { get; }

    /// <inheritdoc/>
    public void Apply(Batch batch)
    {
        foreach (var t in Transforms) t.Apply(batch);
    }

    /// <inheritdoc/>
    public void Reseed(ulong seed)
    {
        for (var i = 0; i < Transforms.Count; i++)
            if (Transforms[i] is IRandomBatchTransform random)
                random.Reseed(Randomness.SeededRandom.DeriveSeed(seed, (ulong)i));
    }
}

using SpatialNet.Training.Data;
using static TorchSharp.torch;

namespace SpatialNet.Training.Synthetic;

/// <summary>
/// Synthetic scenes as an in-memory dataset (nothing written to disk), for multi-task training on data
/// whose truth is exact. Sample i is scene <c>firstIndex + i</c>: "image" uint8 [3,H,W], "label"
/// (land-cover class), "urban" (int64 0/1), "count_&lt;kind&gt;" (float32) and "presence_&lt;kind&gt;"
/// (int64 0/1) for each <see cref="SceneObjectKind"/>, and "index". Use disjoint index ranges for
/// train and validation sets. Scenes are generated on first use and kept.
/// </summary>
public sealed class SyntheticSceneDataset : IDataset
{
    /// <summary>Name of the urban/rural target (1 = urban).</summary>
    public const string UrbanKey = "urban";

    private readonly SyntheticScene?[] _scenes;

    /// <summary>Creates the dataset.</summary>
    public SyntheticSceneDataset(SyntheticSceneGenerator generator, int count, int firstIndex = 0, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"count must be positive; got {count}.");
        ArgumentOutOfRangeException.ThrowIfNegative(firstIndex);
        Generator = generator;
        FirstIndex = firstIndex;
        _scenes = new SyntheticScene?[count];
        Name = name ?? $"synthetic/{firstIndex}-{firstIndex + count - 1}";
    }

    /// <summary>Name of the count target of a kind, e.g. "count_building".</summary>
    public static string CountKey(SceneObjectKind kind) => "count_" + kind.Identifier();

    /// <summary>Name of the presence target of a kind, e.g. "presence_water_area".</summary>
    public static string PresenceKey(SceneObjectKind kind) => "presence_" + kind.Identifier();

    /// <summary>The generator.</summary>
    public SyntheticSceneGenerator Generator { get; }

    /// <summary>Scene index of sample 0.</summary>
    public int FirstIndex { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Count => _scenes.Length;

    /// <summary>Number of land-cover classes (the "label" target).</summary>
    public static int LandCoverClassCount => SyntheticSceneGenerator.LandCoverClasses.Count;

    /// <summary>The scene behind sample <paramref name="index"/>.</summary>
    public SyntheticScene Scene(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _scenes.Length);
        var scene = Volatile.Read(ref _scenes[index]);
        if (scene is not null) return scene;
        scene = Generator.Generate(FirstIndex + index);
        return Interlocked.CompareExchange(ref _scenes[index], scene, null) ?? scene;
    }

    /// <summary>Per-band statistics over this dataset's images (for <see cref="Transforms.Normalize"/>;
    /// normalised inputs train markedly faster than raw [0, 1] ones).</summary>
    public Imaging.NormalizationStatistics ComputeNormalizationStatistics() =>
        Imaging.NormalizationStatistics.Compute(Enumerable.Range(0, Count).Select(i => Scene(i).Image));

    /// <inheritdoc/>
    public Sample GetSample(int index)
    {
        var scene = Scene(index);
        var sample = new Sample();
        sample.Set(SampleKeys.Image, scene.Image.ToTensor());
        sample.Set(SampleKeys.Label, tensor((long)scene.LandCover));
        sample.Set(UrbanKey, tensor(scene.IsUrban ? 1L : 0L));
        foreach (var kind in SceneObjectKinds.All)
        {
            var n = scene.Count(kind);
            sample.Set(CountKey(kind), tensor((float)n));
            sample.Set(PresenceKey(kind), tensor(n > 0 ? 1L : 0L));
        }
        sample.Set(SampleKeys.Index, tensor((long)index));
        return sample;
    }
}

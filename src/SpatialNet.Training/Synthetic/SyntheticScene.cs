using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Synthetic;

/// <summary>An object drawn into a scene: its kind and bounding box (pixels, inclusive–exclusive).</summary>
/// <param name="Kind">What it is.</param>
/// <param name="X">Left column.</param>
/// <param name="Y">Top row.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
internal sealed record SceneObject(SceneObjectKind Kind, int X, int Y, int Width, int Height);

/// <summary>A question about a scene with its correct answer, in RSVQA's format.</summary>
/// <param name="Type">RSVQA question type.</param>
/// <param name="Text">The question.</param>
/// <param name="Answer">"yes"/"no", "rural"/"urban", or a count.</param>
public sealed record SyntheticQuestion(RsvqaQuestionType Type, string Text, string Answer);

/// <summary>
/// A generated scene and everything known about it: the image, its land-cover class, the objects
/// actually drawn (counts are of those, so they are exact), the fraction of pixels each kind covers,
/// the urban/rural label, five captions and RSVQA-style questions with answers.
/// </summary>
public sealed class SyntheticScene
{
    internal SyntheticScene(int index, int landCover, string landCoverName, RasterImage image, byte[] labelMap,
        IReadOnlyList<SceneObject> objects, bool isUrban, IReadOnlyList<string> captions, IReadOnlyList<SyntheticQuestion> questions)
    {
        Index = index;
        LandCover = landCover;
        LandCoverName = landCoverName;
        Image = image;
        LabelMap = labelMap;
        Objects = objects;
        IsUrban = isUrban;
        Captions = captions;
        Questions = questions;
        var pixels = (double)labelMap.Length;
        AreaFractions = SceneObjectKinds.All.Select(k => labelMap.Count(v => v == (byte)((int)k + 1)) / pixels).ToArray();
    }

    /// <summary>The scene's index in its generator (the seed of its content).</summary>
    public int Index { get; }

    /// <summary>Land-cover class index into <see cref="SyntheticSceneGenerator.LandCoverClasses"/>.</summary>
    public int LandCover { get; }

    /// <summary>Land-cover class name.</summary>
    public string LandCoverName { get; }

    /// <summary>The RGB image, 8-bit <c>[3, H, W]</c>.</summary>
    public RasterImage Image { get; }

    /// <summary>Per-pixel content, row-major <c>[H, W]</c>: 0 background, 1 + <see cref="SceneObjectKind"/> for objects.</summary>
    public byte[] LabelMap { get; }

    /// <summary>The objects drawn.</summary>
    internal IReadOnlyList<SceneObject> Objects { get; }

    /// <summary>Fraction of the image each kind covers, indexed by <see cref="SceneObjectKind"/>.</summary>
    public IReadOnlyList<double> AreaFractions { get; }

    /// <summary>Urban when there are at least <see cref="SyntheticSceneOptions.UrbanBuildingThreshold"/> buildings.</summary>
    public bool IsUrban { get; }

    /// <summary>Five captions (lower case, ending " .", like UCM-captions' raw sentences).</summary>
    public IReadOnlyList<string> Captions { get; }

    /// <summary>Questions of all four RSVQA-LR types, with answers computed from the scene.</summary>
    public IReadOnlyList<SyntheticQuestion> Questions { get; }

    /// <summary>Number of objects of a kind.</summary>
    public int Count(SceneObjectKind kind) => Objects.Count(o => o.Kind == kind);
}

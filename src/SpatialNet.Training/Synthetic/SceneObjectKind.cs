namespace SpatialNet.Training.Synthetic;

/// <summary>Kinds of objects drawn into synthetic scenes (the RSVQA vocabulary where it has one).</summary>
public enum SceneObjectKind
{
    /// <summary>A building: a red square roof with a dark edge.</summary>
    Building = 0,

    /// <summary>A tree: a dark green disc.</summary>
    Tree = 1,

    /// <summary>A water area: a blue ellipse.</summary>
    WaterArea = 2,

    /// <summary>A road: a dark grey straight band across the whole image.</summary>
    Road = 3,
}

/// <summary>Names of <see cref="SceneObjectKind"/> in questions, captions and tensor names.</summary>
public static class SceneObjectKinds
{
    /// <summary>Every kind, in enum order.</summary>
    public static IReadOnlyList<SceneObjectKind> All { get; } = [SceneObjectKind.Building, SceneObjectKind.Tree, SceneObjectKind.WaterArea, SceneObjectKind.Road];

    /// <summary>"building", "tree", "water area", "road".</summary>
    public static string Singular(this SceneObjectKind kind) => kind switch
    {
        SceneObjectKind.Building => "building",
        SceneObjectKind.Tree => "tree",
        SceneObjectKind.WaterArea => "water area",
        _ => "road",
    };

    /// <summary>"buildings", "trees", "water areas", "roads".</summary>
    public static string Plural(this SceneObjectKind kind) => kind.Singular() + "s";

    /// <summary>"building", "tree", "water_area", "road" (for tensor and JSON names).</summary>
    public static string Identifier(this SceneObjectKind kind) => kind.Singular().Replace(' ', '_');
}

namespace SpatialNet.Heads;

/// <summary>
/// What a task predicts. Stages that must treat tasks differently (the uncertainty-weighted loss,
/// metric selection, reports) read it from the head or the task definition instead of guessing.
/// </summary>
public enum TaskKind
{
    /// <summary>One class out of C per image (softmax + cross-entropy, paper Eq. 7).</summary>
    Classification,

    /// <summary>One or more real values per image, e.g. object counts (MSE, paper Eq. 8).</summary>
    Regression,

    /// <summary>Any subset of L labels per image (sigmoid + binary cross-entropy).</summary>
    MultiLabel,

    /// <summary>An answer to a natural-language question about the image.</summary>
    VisualQuestionAnswering,

    /// <summary>A token sequence describing the image.</summary>
    Captioning,
}

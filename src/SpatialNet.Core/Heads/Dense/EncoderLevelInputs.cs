namespace SpatialNet.Heads.Dense;

/// <summary>
/// A head that reads outputs of encoder blocks besides the final tokens: <c>MultiTaskModel</c> then encodes with
/// <c>VisionTransformer.ForwardIntermediates</c> (normalised) and passes each block's patch grid <c>[B, D, h, w]</c>
/// among the inputs under <see cref="EncoderLevelInputs.InputName"/>.
/// </summary>
internal interface IEncoderLevelReader
{
    /// <summary>The blocks read (0-based; −1 = the last).</summary>
    IReadOnlyList<int> EncoderLevels { get; }
}

/// <summary>Input names of encoder block outputs.</summary>
internal static class EncoderLevelInputs
{
    /// <summary>The input name of block <paramref name="level"/>'s patch grid, e.g. <c>encoder_level_-1</c>.</summary>
    public static string InputName(int level) => FormattableString.Invariant($"encoder_level_{level}");
}

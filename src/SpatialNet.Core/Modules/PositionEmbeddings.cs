using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Resampling of learned absolute position embeddings to another patch grid — the same rule as
/// timm's <c>resample_abs_pos_embed</c>: prefix tokens (class token) are kept as they are; the
/// patch part is reshaped to its grid and resized with bicubic interpolation with antialiasing
/// (<c>align_corners = false</c>), computed in float32 and cast back.
/// </summary>
public static class PositionEmbeddings
{
    /// <summary>
    /// Resamples <paramref name="posEmbed"/> [1, prefix + rows·cols, D] from <paramref name="oldGrid"/>
    /// to <paramref name="newGrid"/>. When the grids are equal the result shares the input's storage.
    /// </summary>
    /// <param name="posEmbed">Position embedding [1, numPrefixTokens + rows·cols, D].</param>
    /// <param name="oldGrid">Grid (rows, cols) that <paramref name="posEmbed"/> was learned for.</param>
    /// <param name="newGrid">Target grid (rows, cols).</param>
    /// <param name="numPrefixTokens">Leading tokens (class token) that are not resampled.</param>
    /// <returns>Position embedding [1, numPrefixTokens + newRows·newCols, D].</returns>
    public static Tensor Resample(Tensor posEmbed, (int Rows, int Cols) oldGrid, (int Rows, int Cols) newGrid, int numPrefixTokens)
    {
        ArgumentNullException.ThrowIfNull(posEmbed);
        if (posEmbed.dim() != 3 || posEmbed.shape[0] != 1)
            throw new ArgumentException($"A position embedding must be [1, N, D]; got [{string.Join(", ", posEmbed.shape)}].", nameof(posEmbed));
        if (numPrefixTokens < 0)
            throw new ArgumentOutOfRangeException(nameof(numPrefixTokens), numPrefixTokens, "numPrefixTokens must be 0 or more.");
        if (oldGrid.Rows <= 0 || oldGrid.Cols <= 0 || newGrid.Rows <= 0 || newGrid.Cols <= 0)
            throw new ArgumentException($"Grids must be positive; got {oldGrid} -> {newGrid}.");
        long expected = numPrefixTokens + (long)oldGrid.Rows * oldGrid.Cols;
        if (posEmbed.shape[1] != expected)
            throw new ArgumentException(
                $"The position embedding has {posEmbed.shape[1]} tokens but {numPrefixTokens} prefix tokens plus a {oldGrid.Rows}×{oldGrid.Cols} grid need {expected}.",
                nameof(posEmbed));
        if (oldGrid == newGrid)
            return posEmbed.alias();

        using var scope = NewDisposeScope();
        long dim = posEmbed.shape[2];
        var prefix = posEmbed.narrow(1, 0, numPrefixTokens);
        var grid = posEmbed.narrow(1, numPrefixTokens, expected - numPrefixTokens)
            .to_type(ScalarType.Float32)
            .reshape(1, oldGrid.Rows, oldGrid.Cols, dim)
            .permute(0, 3, 1, 2);
        var resized = nn.functional.interpolate(grid, size: [newGrid.Rows, newGrid.Cols],
            mode: InterpolationMode.Bicubic, align_corners: false, antialias: true);
        var patches = resized.permute(0, 2, 3, 1).reshape(1, (long)newGrid.Rows * newGrid.Cols, dim).to_type(posEmbed.dtype);
        var result = numPrefixTokens > 0 ? cat(new[] { prefix, patches }, 1) : patches;
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The square grid side of a position embedding with <paramref name="numTokens"/> tokens of
    /// which <paramref name="numPrefixTokens"/> are prefix tokens (timm's assumption for checkpoints
    /// that do not state their grid); throws when the patch count is not a perfect square.
    /// </summary>
    public static (int Rows, int Cols) InferSquareGrid(long numTokens, int numPrefixTokens)
    {
        long patches = numTokens - numPrefixTokens;
        long side = (long)Math.Round(Math.Sqrt(Math.Max(patches, 0)));
        if (patches <= 0 || side * side != patches)
            throw new ArgumentException(
                $"A position embedding with {numTokens} tokens ({numPrefixTokens} prefix) has no square patch grid; state the source grid explicitly.");
        return ((int)side, (int)side);
    }
}

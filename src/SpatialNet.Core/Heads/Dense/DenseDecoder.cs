using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads.Dense;

/// <summary>
/// A decoder from encoder feature grids <c>[B, D, h, w]</c> (one per level of <see cref="Levels"/>, in that order)
/// to per-pixel outputs <c>[B, K, h·p, w·p]</c> (class logits or regressed values), p the patch size.
/// </summary>
internal abstract class DenseDecoder : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    protected DenseDecoder(string name, int patchSize, int outChannels, IReadOnlyList<int> levels) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        if (levels.Count == 0) throw new ArgumentException("A decoder reads at least one level.", nameof(levels));
        PatchSize = patchSize;
        OutChannels = outChannels;
        Levels = levels;
    }

    /// <summary>Encoder blocks read (as in <c>VisionTransformer.ForwardIntermediates</c>; −1 = the last block).</summary>
    public IReadOnlyList<int> Levels { get; }

    /// <summary>Upsampling factor from the token grid to pixels.</summary>
    public int PatchSize { get; }

    /// <summary>Output channels K.</summary>
    public int OutChannels { get; }

    /// <summary>Bilinear resize as PyTorch's <c>interpolate(mode="bilinear", align_corners=False)</c>.</summary>
    protected static Tensor Bilinear(Tensor x, long height, long width) =>
        x.shape[^2] == height && x.shape[^1] == width
            ? x
            : nn.functional.interpolate(x, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false);

    protected void CheckLevels(IReadOnlyList<Tensor> grids)
    {
        ArgumentNullException.ThrowIfNull(grids);
        if (grids.Count != Levels.Count)
            throw new ArgumentException($"{GetType().Name} reads {Levels.Count} levels; got {grids.Count}.", nameof(grids));
        foreach (var g in grids)
            if (g.dim() != 4)
                throw new ArgumentException($"Feature grids must be [B, D, h, w]; got [{string.Join(", ", g.shape)}].", nameof(grids));
    }
}

/// <summary>
/// Segmenter's linear baseline (Strudel et al., 2021, §3.2 "Linear"): a linear map of each patch token to K
/// outputs, the K-channel grid upsampled bilinearly to the image.
/// </summary>
internal sealed class LinearDenseDecoder : DenseDecoder
{
    private readonly Linear head;

    public LinearDenseDecoder(int embedDim, int patchSize, int outChannels) : base(nameof(LinearDenseDecoder), patchSize, outChannels, [-1])
    {
        head = nn.Linear(embedDim, outChannels);
        RegisterComponents();
        Modules.TimmInit.Linear(head);
    }

    public override Tensor forward(IReadOnlyList<Tensor> grids)
    {
        CheckLevels(grids);
        using var scope = NewDisposeScope();
        var g = grids[0];
        // [B, D, h, w] → [B, h, w, D] → Linear → [B, K, h, w].
        var logits = head.call(g.permute(0, 2, 3, 1)).permute(0, 3, 1, 2);
        return Bilinear(logits, g.shape[2] * PatchSize, g.shape[3] * PatchSize).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SETR's multi-level aggregation (Zheng et al., 2021, §3.3 "MLA", Fig. 1c): LayerNorm and a 1×1 projection of each
/// level's tokens, a top-down running sum (deepest level first), a 3×3 convolution per level; then per level two 3×3
/// convolutions to half the width, ×4 bilinear upsampling, concatenation, a 1×1 classifier and bilinear resizing to
/// the image. ReLU after each convolution; no batch norm (small batches).
/// </summary>
internal sealed class MultiLevelDenseDecoder : DenseDecoder
{
    private readonly ModuleList<LayerNorm> norms;
    private readonly ModuleList<Conv2d> projections;
    private readonly ModuleList<Conv2d> aggregations;
    private readonly ModuleList<Sequential> heads;
    private readonly Conv2d classifier;

    /// <param name="embedDim">Token width D.</param>
    /// <param name="patchSize">Patch size p.</param>
    /// <param name="outChannels">Outputs per pixel K.</param>
    /// <param name="levels">Encoder blocks read, e.g. the ends of each quarter of the depth.</param>
    /// <param name="channels">Width M after projection (SETR: 256).</param>
    public MultiLevelDenseDecoder(int embedDim, int patchSize, int outChannels, IReadOnlyList<int> levels, int channels = 256)
        : base(nameof(MultiLevelDenseDecoder), patchSize, outChannels, levels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 2);
        int half = channels / 2;
        norms = nn.ModuleList([.. levels.Select(_ => nn.LayerNorm(embedDim, 1e-6))]);
        projections = nn.ModuleList([.. levels.Select(_ => nn.Conv2d(embedDim, channels, 1))]);
        aggregations = nn.ModuleList([.. levels.Select(_ => nn.Conv2d(channels, channels, 3, padding: 1))]);
        heads = nn.ModuleList([.. levels.Select(_ => nn.Sequential(
            nn.Conv2d(channels, half, 3, padding: 1), nn.ReLU(),
            nn.Conv2d(half, half, 3, padding: 1), nn.ReLU()))]);
        classifier = nn.Conv2d(half * levels.Count, outChannels, 1);
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> grids)
    {
        CheckLevels(grids);
        using var scope = NewDisposeScope();
        int n = grids.Count;
        var projected = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            var normed = norms[i].call(grids[i].permute(0, 2, 3, 1)).permute(0, 3, 1, 2);
            projected[i] = nn.functional.relu(projections[i].call(normed));
        }
        // Top-down: the deepest level alone, then each shallower level plus everything below it.
        var running = projected[n - 1];
        var aggregated = new Tensor[n];
        aggregated[n - 1] = running;
        for (int i = n - 2; i >= 0; i--) aggregated[i] = running = projected[i] + running;
        long h = grids[0].shape[2], w = grids[0].shape[3];
        var upsampled = new Tensor[n];
        for (int i = 0; i < n; i++)
            upsampled[i] = Bilinear(heads[i].call(nn.functional.relu(aggregations[i].call(aggregated[i]))), 4 * h, 4 * w);
        var logits = classifier.call(cat(upsampled, 1));
        return Bilinear(logits, h * PatchSize, w * PatchSize).MoveToOuterDisposeScope();
    }
}

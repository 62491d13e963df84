using static TorchSharp.torch;

namespace SpatialNet.Heads.Dense;

/// <summary>Per-pixel losses: cross-entropy with an ignore value, soft Dice, and L1/MSE over valid pixels.</summary>
internal static class DenseLosses
{
    /// <summary>
    /// Cross-entropy of logits <c>[B, C, H, W]</c> against class indices <c>[B, H, W]</c>, pixels equal to
    /// <paramref name="ignoreIndex"/> left out; with <paramref name="classWeights"/> the weighted mean
    /// Σ w_y·ℓ / Σ w_y (PyTorch's definition). 0 (with a gradient path) when every pixel is ignored.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, int ignoreIndex = 255, Tensor? classWeights = null)
    {
        Check(logits, target);
        using var scope = NewDisposeScope();
        var labels = target.to(ScalarType.Int64);
        if (!labels.ne(ignoreIndex).any().item<bool>()) return (logits.sum() * 0).MoveToOuterDisposeScope();
        var weight = classWeights?.to(logits.dtype).to(logits.device);
        return nn.functional.cross_entropy(logits, labels, weight, ignore_index: ignoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Soft Dice loss (Milletari et al., 2016, V-Net, with plain rather than squared sums): softmax probabilities p,
    /// one-hot targets t over the not-ignored pixels of the batch, per class d_c = (2 Σ p·t + s) / (Σ p + Σ t + s)
    /// with smoothing s, loss 1 − mean_c d_c.
    /// </summary>
    public static Tensor Dice(Tensor logits, Tensor target, int ignoreIndex = 255, double smooth = 1.0)
    {
        Check(logits, target);
        using var scope = NewDisposeScope();
        long classes = logits.shape[1];
        var labels = target.to(ScalarType.Int64);
        var valid = labels.ne(ignoreIndex).unsqueeze(1).to(logits.dtype);
        var probabilities = nn.functional.softmax(logits, 1) * valid;
        var oneHot = nn.functional.one_hot(labels.masked_fill(labels.eq(ignoreIndex), 0), classes).permute(0, 3, 1, 2).to(logits.dtype) * valid;
        long[] dims = [0, 2, 3];
        var intersection = (probabilities * oneHot).sum(dims);
        var dice = (2 * intersection + smooth) / (probabilities.sum(dims) + oneHot.sum(dims) + smooth);
        return (1 - dice.mean()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean L1 (<paramref name="squared"/> false) or squared error over the valid values of predictions and targets
    /// <c>[B, K, H, W]</c>: where <paramref name="valid"/> (<c>[B, H, W]</c> or <c>[B, K, H, W]</c>, optional) is true and
    /// the target is finite. 0 (with a gradient path) when no value is valid.
    /// </summary>
    public static Tensor MaskedRegression(Tensor predictions, Tensor targets, Tensor? valid = null, bool squared = false)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (!predictions.shape.SequenceEqual(targets.shape))
            throw new ArgumentException($"Predictions [{string.Join(", ", predictions.shape)}] and targets [{string.Join(", ", targets.shape)}] differ in shape.", nameof(targets));
        using var scope = NewDisposeScope();
        var mask = targets.isfinite();
        if (valid is not null)
            mask = mask.logical_and((valid.dim() == 3 ? valid.unsqueeze(1) : valid).to(ScalarType.Bool).expand_as(targets));
        long count = mask.sum().item<long>();
        if (count == 0) return (predictions.sum() * 0).MoveToOuterDisposeScope();
        var difference = predictions - TorchSharp.torch.where(mask, targets, zeros_like(targets));
        var error = squared ? difference.square() : difference.abs();
        return (error.masked_fill(mask.logical_not(), 0).sum() / count).MoveToOuterDisposeScope();
    }

    private static void Check(Tensor logits, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        if (logits.dim() != 4 || target.dim() != 3 || logits.shape[0] != target.shape[0] || logits.shape[2] != target.shape[1] || logits.shape[3] != target.shape[2])
            throw new ArgumentException($"Expected logits [B, C, H, W] and targets [B, H, W]; got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", target.shape)}].", nameof(target));
    }
}

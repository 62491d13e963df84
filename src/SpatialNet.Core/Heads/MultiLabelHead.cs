using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Any subset of L labels per image: pooled tokens → linear → logits [B, L]; binary cross-entropy
/// on the logits; sigmoid probabilities at inference.
/// </summary>
/// <remarks>
/// L = mean over (i, l) of −[p_l·t_{il}·log σ(z_{il}) + (1 − t_{il})·log(1 − σ(z_{il}))], with
/// positive weights p_l (1 by default). Computed from the logits (log-sum-exp form) so large
/// logits do not overflow. Targets [B, L] hold 0/1 (or soft values in [0, 1]).
/// </remarks>
public sealed class MultiLabelHead : PooledLinearHead
{
    private readonly double[]? positiveWeights;

    /// <summary>Creates the head.</summary>
    /// <param name="taskName">Task name.</param>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    /// <param name="options">Head settings; validated here.</param>
    /// <exception cref="ArgumentException">Invalid options (message names each option and its allowed values).</exception>
    public MultiLabelHead(string taskName, TokenLayout layout, MultiLabelHeadOptions options)
        : base(taskName, layout, options, (options ?? throw new ArgumentNullException(nameof(options))).NumLabels, options.PositiveWeights?.ToArray())
    {
        NumLabels = options.NumLabels;
        positiveWeights = options.PositiveWeights?.ToArray();
        RegisterComponents();
    }

    /// <inheritdoc />
    public override TaskKind Kind => TaskKind.MultiLabel;

    /// <summary>Number of labels L.</summary>
    public int NumLabels { get; }

    /// <summary>Tokens [B, N, D] → logits [B, L].</summary>
    public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs) => PooledOutputs(tokens);

    /// <summary>Binary cross-entropy with logits, averaged over samples and labels.</summary>
    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        CheckBatch(predictions, targets);
        if (!targets.shape.SequenceEqual(predictions.shape))
        {
            throw new ArgumentException(
                $"Task '{TaskName}': targets [{string.Join(", ", targets.shape)}] must be [B, {NumLabels}] like the predictions [{string.Join(", ", predictions.shape)}].",
                nameof(targets));
        }

        using var scope = NewDisposeScope();
        var posWeight = LossWeights(predictions);
        var loss = nn.functional.binary_cross_entropy_with_logits(
            predictions, targets.to(predictions.dtype), weight: null, reduction: nn.Reduction.Mean, pos_weights: posWeight);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Logits [B, L] → per-label probabilities [B, L] (sigmoid).</summary>
    public override Tensor Predict(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return predictions.sigmoid();
    }
}

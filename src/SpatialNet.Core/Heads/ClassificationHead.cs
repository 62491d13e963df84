using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// One class out of C per image: pooled tokens → linear → logits [B, C]; softmax at inference;
/// cross-entropy with label smoothing and class weights (paper Eq. 7).
/// </summary>
/// <remarks>
/// <para>
/// Loss, for logits z_i, log-probabilities ℓ_{i,c} = log softmax(z_i)_c, targets y_i, class weights
/// w_c (1 without weights), smoothing ε and C classes, over the samples i whose target is not
/// <see cref="ClassificationHeadOptions.IgnoreIndex"/>:
/// </para>
/// <para>
/// L = Σ_i [ (1 − ε)·w_{y_i}·(−ℓ_{i,y_i}) + (ε/C)·Σ_c w_c·(−ℓ_{i,c}) ] / Σ_i w_{y_i}.
/// </para>
/// <para>
/// With ε = 0 and no weights this is Eq. (7), −Σ_c y_c log ŷ_c averaged over the batch. The
/// normalisation by Σ w_{y_i} and the weighting of the smoothing term are PyTorch's
/// <c>F.cross_entropy</c> conventions, kept so that numbers match PyTorch training runs.
/// Targets are class indices [B] (int64); a probability target [B, C] (float) is also accepted.
/// </para>
/// </remarks>
public sealed class ClassificationHead : PooledLinearHead
{
    private readonly double[]? classWeights;

    /// <summary>Creates the head.</summary>
    /// <param name="taskName">Task name.</param>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    /// <param name="options">Head settings; validated here.</param>
    /// <exception cref="ArgumentException">Invalid options (message names each option and its allowed values).</exception>
    public ClassificationHead(string taskName, TokenLayout layout, ClassificationHeadOptions options)
        : base(taskName, layout, options, (options ?? throw new ArgumentNullException(nameof(options))).NumClasses, options.ClassWeights?.ToArray())
    {
        NumClasses = options.NumClasses;
        LabelSmoothing = options.LabelSmoothing;
        IgnoreIndex = options.IgnoreIndex;
        classWeights = options.ClassWeights?.ToArray();
        RegisterComponents();
    }

    /// <inheritdoc />
    public override TaskKind Kind => TaskKind.Classification;

    /// <summary>Number of classes C.</summary>
    public int NumClasses { get; }

    /// <summary>Label smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <summary>Target value ignored by the loss.</summary>
    public long IgnoreIndex { get; }

    /// <summary>Per-class loss weights, or null.</summary>
    public IReadOnlyList<double>? ClassWeights => classWeights;

    /// <summary>Tokens [B, N, D] → logits [B, C].</summary>
    public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs) => PooledOutputs(tokens);

    /// <summary>Cross-entropy with label smoothing and class weights (Eq. 7; formula in the class remarks).</summary>
    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        CheckBatch(predictions, targets);
        using var scope = NewDisposeScope();
        var weight = LossWeights(predictions);
        var target = targets.is_floating_point() ? targets.to(predictions.dtype) : targets.to(int64);
        var loss = nn.functional.cross_entropy(predictions, target, weight, IgnoreIndex, nn.Reduction.Mean, LabelSmoothing);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Logits [B, C] → class probabilities [B, C] (softmax); arg-max gives the class.</summary>
    public override Tensor Predict(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return predictions.softmax(-1);
    }
}

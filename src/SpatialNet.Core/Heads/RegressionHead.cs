using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Real values per image, e.g. object counts: pooled tokens → linear → values in normalised units;
/// mean squared error (paper Eq. 8) against normalised targets; de-normalised at inference.
/// </summary>
/// <remarks>
/// With target mean μ and standard deviation σ (<see cref="RegressionHeadOptions"/>), the head
/// learns t' = (t − μ)/σ: L = (1/n)·Σ (ŷ' − t')², summed over every predicted value. Counts span
/// orders of magnitude; normalising keeps this loss on the scale of the other tasks' losses, which
/// matters when Eq. (6) adds them with equal λ_t. The reported loss is therefore in normalised
/// units (multiply by σ² for target units). <see cref="Predict"/> returns ŷ = σ·ŷ' + μ.
/// Outputs are [B] with one value per image and [B, K] with K; targets must have that shape
/// (a [B, 1] target is accepted for K = 1).
/// </remarks>
public sealed class RegressionHead : PooledLinearHead
{
    private readonly IReadOnlyList<string> metricNames;

    /// <summary>Creates the head.</summary>
    /// <param name="taskName">Task name.</param>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    /// <param name="options">Head settings; validated here.</param>
    /// <exception cref="ArgumentException">Invalid options (message names each option and its allowed values).</exception>
    public RegressionHead(string taskName, TokenLayout layout, RegressionHeadOptions options)
        : base(taskName, layout, options, (options ?? throw new ArgumentNullException(nameof(options))).Outputs)
    {
        Outputs = options.Outputs;
        TargetMean = options.TargetMean;
        TargetStd = options.TargetStd;
        metricNames = options.Metrics?.ToArray() ?? [Heads.MetricNames.MeanAbsoluteError, Heads.MetricNames.RootMeanSquaredError];
        RegisterComponents();
    }

    /// <inheritdoc />
    public override TaskKind Kind => TaskKind.Regression;

    /// <inheritdoc />
    public override IReadOnlyList<string> MetricNames => metricNames;

    /// <summary>Values per image K.</summary>
    public int Outputs { get; }

    /// <summary>Target mean μ of the normalisation.</summary>
    public double TargetMean { get; }

    /// <summary>Target standard deviation σ of the normalisation.</summary>
    public double TargetStd { get; }

    /// <summary>Tokens [B, N, D] → normalised values [B] (K = 1) or [B, K].</summary>
    public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs)
    {
        var values = PooledOutputs(tokens);
        if (Outputs != 1)
        {
            return values;
        }

        using (values)
        {
            return values.squeeze(-1);
        }
    }

    /// <summary>MSE (Eq. 8) between normalised predictions and normalised targets.</summary>
    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        CheckBatch(predictions, targets);
        using var scope = NewDisposeScope();
        var target = targets.to(predictions.dtype);
        if (!target.shape.SequenceEqual(predictions.shape))
        {
            if (target.numel() != predictions.numel())
            {
                throw new ArgumentException(
                    $"Task '{TaskName}': targets [{string.Join(", ", targets.shape)}] do not match predictions [{string.Join(", ", predictions.shape)}].",
                    nameof(targets));
            }

            target = target.reshape(predictions.shape);
        }

        var normalised = (target - TargetMean) / TargetStd;
        return nn.functional.mse_loss(predictions, normalised, nn.Reduction.Mean).MoveToOuterDisposeScope();
    }

    /// <summary>Normalised values → values in target units, σ·ŷ' + μ.</summary>
    public override Tensor Predict(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        using var scope = NewDisposeScope();
        return (predictions * TargetStd + TargetMean).MoveToOuterDisposeScope();
    }
}

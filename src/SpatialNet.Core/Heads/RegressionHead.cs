using SpatialNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Real values per image, e.g. object counts: pooled tokens → linear → values in normalised units;
/// mean squared error (paper Eq. 8) against normalised targets; de-normalised at inference.
/// </summary>
/// <remarks>
/// With target means μ_k and standard deviations σ_k per output (<see cref="RegressionHeadOptions"/>),
/// the head learns t'_k = (t_k − μ_k)/σ_k: L = (1/n)·Σ (ŷ' − t')², summed over every predicted value. Counts span
/// orders of magnitude; normalising keeps this loss on the scale of the other tasks' losses, which
/// matters when Eq. (6) adds them with equal λ_t. The reported loss is therefore in normalised
/// units (multiply by σ² for target units). <see cref="Predict"/> returns ŷ_k = σ_k·ŷ'_k + μ_k.
/// Outputs are [B] with one value per image and [B, K] with K; targets must have that shape
/// (a [B, 1] target is accepted for K = 1).
/// </remarks>
public sealed class RegressionHead : PooledLinearHead
{
    private readonly DeviceConstant? means;
    private readonly DeviceConstant? stds;

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
        TargetMeans = options.TargetMeans?.ToArray() ?? Enumerable.Repeat(options.TargetMean, Outputs).ToArray();
        TargetStds = options.TargetStds?.ToArray() ?? Enumerable.Repeat(options.TargetStd, Outputs).ToArray();
        if (options.TargetMeans is not null || options.TargetStds is not null)
        {
            means = new DeviceConstant(TargetMeans);
            stds = new DeviceConstant(TargetStds);
        }

        RegisterComponents();
    }

    /// <inheritdoc />
    public override TaskKind Kind => TaskKind.Regression;

    /// <summary>Values per image K.</summary>
    public int Outputs { get; }

    /// <summary>Target mean μ of the normalisation.</summary>
    public double TargetMean { get; }

    /// <summary>Target standard deviation σ of the normalisation.</summary>
    public double TargetStd { get; }

    /// <summary>Per-output means μ_k of the normalisation.</summary>
    public IReadOnlyList<double> TargetMeans { get; }

    /// <summary>Per-output standard deviations σ_k of the normalisation.</summary>
    public IReadOnlyList<double> TargetStds { get; }

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

        // Per output k: t'_k = (t_k − μ_k)/σ_k (the last dimension of [B, K]).
        var normalised = means is null ? (target - TargetMean) / TargetStd : (target - means.Like(target)) / stds!.Like(target);
        return nn.functional.mse_loss(predictions, normalised, nn.Reduction.Mean).MoveToOuterDisposeScope();
    }

    /// <summary>Normalised values → values in target units, σ·ŷ' + μ.</summary>
    public override Tensor Predict(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        using var scope = NewDisposeScope();
        var values = means is null ? predictions * TargetStd + TargetMean : predictions * stds!.Like(predictions) + means.Like(predictions);
        return values.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            means?.Dispose();
            stds?.Dispose();
        }

        base.Dispose(disposing);
    }
}

using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// The shared body of the per-image heads: pool tokens [B, N, D] to [B, D], dropout, one linear
/// layer to [B, K]. Subclasses choose K, the loss and the inference transform, and call
/// <c>RegisterComponents()</c> last in their constructor.
/// </summary>
/// <remarks>
/// Parameters: <c>pool.*</c> (attention pooling only), <c>norm.*</c> (with
/// <see cref="TaskHeadOptions.PooledNorm"/>), <c>fc.weight</c>, <c>fc.bias</c>.
/// </remarks>
public abstract class PooledLinearHead : TaskHead
{
    private readonly TokenPooling pool;
    private readonly nn.Module<Tensor, Tensor> norm;
    private readonly Dropout head_drop;
    private readonly Linear fc;
    private readonly DeviceConstant? lossWeights;

    /// <summary>Builds pooling, dropout and the output layer with <paramref name="outputs"/> units.</summary>
    /// <param name="taskName">Task name.</param>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    /// <param name="options">Task options (pooling, norm, dropout); validated against the layout here.</param>
    /// <param name="outputs">Width K of the output layer.</param>
    /// <param name="lossWeights">Per-output loss weights (class or positive weights), or null; see <see cref="LossWeights"/>.</param>
    /// <exception cref="ArgumentException">Invalid options; the message names each option and its allowed values.</exception>
    protected PooledLinearHead(string taskName, TokenLayout layout, TaskHeadOptions options, int outputs, IReadOnlyList<double>? lossWeights = null)
        : base(taskName, Validated(taskName, layout, options))
    {
        // Weights are options, not state: kept per device outside the module (a buffer would enter the
        // state dict) and made once rather than uploaded on every loss call.
        this.lossWeights = lossWeights is null ? null : new DeviceConstant(lossWeights);
        pool = TokenPooling.Create(options.ResolvePooling(layout), layout, options.AttentionPoolHeads);
        norm = options.PooledNorm ? nn.LayerNorm(layout.EmbedDim, eps: 1e-6) : nn.Identity();
        head_drop = nn.Dropout(options.Dropout);
        fc = nn.Linear(layout.EmbedDim, outputs);
        // timm initialises classifier heads with truncated normal (std 0.02) and zero bias.
        TimmInit.Linear(fc);
    }

    // Runs before any native module is allocated.
    private static TokenLayout Validated(string taskName, TokenLayout layout, TaskHeadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid(taskName, layout);
        return layout;
    }

    /// <summary>Pooling this head uses.</summary>
    public PoolingKind Pooling => pool.Kind;

    /// <summary>Pooled, dropped-out, projected tokens: [B, K].</summary>
    protected Tensor PooledOutputs(Tensor tokens)
    {
        CheckTokens(tokens);
        using var scope = NewDisposeScope();
        var pooled = head_drop.call(norm.call(pool.call(tokens)));
        return fc.call(pooled).MoveToOuterDisposeScope();
    }

    /// <summary>The loss weights given to the constructor on <paramref name="like"/>'s device and dtype, or null.</summary>
    protected Tensor? LossWeights(Tensor like) => lossWeights?.Like(like);

    /// <summary>Frees the per-device copies of the loss weights with the module.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            lossWeights?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Throws unless <paramref name="targets"/> has <paramref name="predictions"/>' batch size.</summary>
    protected void CheckBatch(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.dim() == 0 || targets.shape[0] != predictions.shape[0])
        {
            throw new ArgumentException(
                $"Task '{TaskName}': targets [{string.Join(", ", targets.shape)}] do not match predictions [{string.Join(", ", predictions.shape)}] in batch size.",
                nameof(targets));
        }
    }
}

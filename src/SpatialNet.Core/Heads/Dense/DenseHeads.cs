using static TorchSharp.torch;

namespace SpatialNet.Heads.Dense;

/// <summary>
/// A per-pixel head on the encoder's patch tokens: a <see cref="DenseDecoder"/> turns the grids of its encoder
/// blocks (from the model, see <see cref="IEncoderLevelReader"/>) into <c>[B, K, H, W]</c> outputs.
/// </summary>
internal abstract class DenseHead : TaskHead, IEncoderLevelReader
{
    private readonly DenseDecoder decoder;

    private protected DenseHead(string taskName, TokenLayout layout, DenseHeadOptions options, int outChannels, int patchSize) : base(taskName, layout)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (patchSize < 1) throw new ArgumentOutOfRangeException(nameof(patchSize), patchSize, $"Task '{taskName}': the patch size must be positive.");
        decoder = options.CreateDecoder(layout, outChannels, patchSize);
        PatchSize = patchSize;
        RegisterComponents();
    }

    /// <summary>Factor from the token grid to pixels.</summary>
    public int PatchSize { get; }

    /// <summary>Encoder blocks the decoder reads.</summary>
    public IReadOnlyList<int> EncoderLevels => decoder.Levels;

    /// <summary>Outputs <c>[B, K, h·p, w·p]</c> from the block grids among <paramref name="inputs"/>.</summary>
    public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs)
    {
        CheckTokens(tokens);
        var grids = decoder.Levels.Select(l => GetInput(inputs, EncoderLevelInputs.InputName(l))).ToArray();
        return decoder.call(grids);
    }

    /// <summary>Outputs resized bilinearly to the targets' H×W when they differ (mmsegmentation resizes logits to the label).</summary>
    private protected static Tensor ToTargetSize(Tensor outputs, long height, long width) =>
        outputs.shape[^2] == height && outputs.shape[^1] == width
            ? outputs
            : nn.functional.interpolate(outputs, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
}

/// <summary>Semantic segmentation: C class logits per pixel; cross-entropy with an ignore value (+ optional Dice).</summary>
internal sealed class SegmentationHead : DenseHead
{
    private readonly Tensor? classWeights;

    /// <summary>Creates the head.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public SegmentationHead(string taskName, TokenLayout layout, SegmentationHeadOptions options, int patchSize)
        : base(taskName, layout, Checked(taskName, layout, options), options.NumClasses, patchSize)
    {
        Options = options;
        classWeights = options.ClassWeights is { } w ? tensor(w.Select(v => (float)v).ToArray()) : null;
    }

    private static SegmentationHeadOptions Checked(string taskName, TokenLayout layout, SegmentationHeadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid(taskName, layout);
        return options;
    }

    /// <summary>The head's settings.</summary>
    public SegmentationHeadOptions Options { get; }

    /// <inheritdoc />
    public override TaskKind Kind => SegmentationTaskKind.Kind;

    /// <summary>Cross-entropy (ignore value left out, class weights) + DiceWeight × soft Dice of logits against masks <c>[B, H, W]</c>.</summary>
    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        var logits = ToTargetSize(predictions, targets.shape[^2], targets.shape[^1]);
        var loss = DenseLosses.CrossEntropy(logits, targets, Options.IgnoreIndex, classWeights);
        if (Options.DiceWeight > 0) loss = loss + Options.DiceWeight * DenseLosses.Dice(logits, targets, Options.IgnoreIndex);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Class probabilities per pixel <c>[B, C, H, W]</c>.</summary>
    public override Tensor Predict(Tensor predictions) => nn.functional.softmax(predictions, 1);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) classWeights?.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Per-pixel regression: K values per pixel; L1 or MSE over the finite targets, normalised by (t − μ)/σ.</summary>
internal sealed class PixelRegressionHead : DenseHead
{
    /// <summary>Creates the head.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public PixelRegressionHead(string taskName, TokenLayout layout, PixelRegressionHeadOptions options, int patchSize)
        : base(taskName, layout, Checked(taskName, layout, options), options.Outputs, patchSize)
    {
        Options = options;
    }

    private static PixelRegressionHeadOptions Checked(string taskName, TokenLayout layout, PixelRegressionHeadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid(taskName, layout);
        return options;
    }

    /// <summary>The head's settings.</summary>
    public PixelRegressionHeadOptions Options { get; }

    /// <inheritdoc />
    public override TaskKind Kind => PixelRegressionTaskKind.Kind;

    /// <summary>Mean L1 or squared error of normalised outputs against targets <c>[B, K, H, W]</c> (or <c>[B, H, W]</c> for K = 1); non-finite targets are left out.</summary>
    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        var t = targets.dim() == 3 ? targets.unsqueeze(1) : targets;
        var outputs = ToTargetSize(predictions, t.shape[^2], t.shape[^1]);
        var normalised = (t.to(outputs.dtype) - Options.TargetMean) / Options.TargetStd;
        return DenseLosses.MaskedRegression(outputs, normalised, squared: Options.Loss == "mse").MoveToOuterDisposeScope();
    }

    /// <summary>Values per pixel in target units <c>[B, K, H, W]</c>.</summary>
    public override Tensor Predict(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return predictions * Options.TargetStd + Options.TargetMean;
    }
}

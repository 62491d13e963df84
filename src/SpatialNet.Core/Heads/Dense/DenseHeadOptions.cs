namespace SpatialNet.Heads.Dense;

/// <summary>Settings every dense (per-pixel) head has: its decoder.</summary>
internal abstract class DenseHeadOptions : TaskHeadOptions
{
    /// <summary>
    /// <c>linear</c>: Segmenter's linear baseline, a per-token linear map upsampled bilinearly (Strudel et al., 2021);
    /// <c>mla</c>: SETR's multi-level aggregation over several encoder blocks (Zheng et al., 2021).
    /// </summary>
    public string Decoder { get; set; } = "linear";

    /// <summary>
    /// Encoder blocks the <c>mla</c> decoder reads (0-based; negative from the end). Null: the last block of each quarter of
    /// the encoder (SETR-MLA's choice; blocks 2, 5, 8, 11 of 12).
    /// </summary>
    public IReadOnlyList<int>? Levels { get; set; }

    /// <summary>Width of the <c>mla</c> decoder (SETR: 256).</summary>
    public int DecoderChannels { get; set; } = 256;

    /// <summary>The encoder's patch size, the factor from token grid to pixels; 0: the model's.</summary>
    public int PatchSize { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        ArgumentNullException.ThrowIfNull(errors);
        if (Decoder is not ("linear" or "mla"))
            errors.Add(Message(taskName, nameof(Decoder), Decoder, "linear or mla"));
        if (Decoder == "mla" && Levels is not null && (Levels.Count == 0 || Levels.Distinct().Count() != Levels.Count))
            errors.Add(Message(taskName, nameof(Levels), Levels is null ? null : $"[{string.Join(", ", Levels)}]", "one or more distinct block indices (negative from the last block)"));
        if (DecoderChannels < 2)
            errors.Add(Message(taskName, nameof(DecoderChannels), DecoderChannels, "an integer >= 2"));
        if (PatchSize < 0)
            errors.Add(Message(taskName, nameof(PatchSize), PatchSize, "0 (the model's) or the encoder's patch size"));
    }

    /// <summary>The last block of each quarter of a <paramref name="depth"/>-block encoder, without repeats.</summary>
    internal static IReadOnlyList<int> QuarterLevels(int depth) =>
        [.. new[] { depth / 4 - 1, depth / 2 - 1, 3 * depth / 4 - 1, depth - 1 }.Where(i => i >= 0).Distinct()];

    internal DenseDecoder CreateDecoder(TokenLayout layout, int outChannels, int patchSize) => Decoder == "mla"
        ? new MultiLevelDenseDecoder(layout.EmbedDim, patchSize, outChannels, Levels ?? [-1], DecoderChannels)
        : new LinearDenseDecoder(layout.EmbedDim, patchSize, outChannels);
}

/// <summary>Settings of a <see cref="SegmentationHead"/>.</summary>
internal sealed class SegmentationHeadOptions : DenseHeadOptions
{
    /// <summary>Number of classes C; 0 takes it from the data.</summary>
    public int NumClasses { get; set; }

    /// <summary>Mask value of pixels without a label, left out of the loss and the metrics (mmsegmentation: 255).</summary>
    public int IgnoreIndex { get; set; } = 255;

    /// <summary>Per-class weights of the cross-entropy (one per class, each ≥ 0); null: equal.</summary>
    public IReadOnlyList<double>? ClassWeights { get; set; }

    /// <summary>Weight of the soft Dice loss added to the cross-entropy; 0 (default): none.</summary>
    public double DiceWeight { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (NumClasses < 1)
            errors.Add(Message(taskName, nameof(NumClasses), NumClasses, "an integer >= 1 (0 is replaced by the data's class count)"));
        if (IgnoreIndex is >= 0 && IgnoreIndex < NumClasses)
            errors.Add(Message(taskName, nameof(IgnoreIndex), IgnoreIndex, $"a value that is not a class (negative or >= {NumClasses})"));
        if (ClassWeights is { } w && (w.Count != NumClasses || w.Any(v => !(v >= 0) || double.IsInfinity(v))))
            errors.Add(Message(taskName, nameof(ClassWeights), FormatList(w), $"{NumClasses} finite numbers >= 0 (one per class) or null"));
        if (!(DiceWeight >= 0) || double.IsInfinity(DiceWeight))
            errors.Add(Message(taskName, nameof(DiceWeight), DiceWeight, "a finite number >= 0"));
    }
}

/// <summary>Settings of a <see cref="PixelRegressionHead"/>.</summary>
internal sealed class PixelRegressionHeadOptions : DenseHeadOptions
{
    /// <summary>Values per pixel K; at least 1.</summary>
    public int Outputs { get; set; } = 1;

    /// <summary><c>l1</c> (default) or <c>mse</c>, over the valid pixels (finite targets).</summary>
    public string Loss { get; set; } = "l1";

    /// <summary>Mean μ subtracted from targets before the loss (predictions are de-normalised). Default 0.</summary>
    public double TargetMean { get; set; }

    /// <summary>Standard deviation σ dividing targets before the loss; positive. Default 1.</summary>
    public double TargetStd { get; set; } = 1.0;

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (Outputs < 1)
            errors.Add(Message(taskName, nameof(Outputs), Outputs, "an integer >= 1"));
        if (Loss is not ("l1" or "mse"))
            errors.Add(Message(taskName, nameof(Loss), Loss, "l1 or mse"));
        if (!double.IsFinite(TargetMean))
            errors.Add(Message(taskName, nameof(TargetMean), TargetMean, "a finite number"));
        if (!(TargetStd > 0) || double.IsInfinity(TargetStd))
            errors.Add(Message(taskName, nameof(TargetStd), TargetStd, "a finite number > 0"));
    }
}

namespace SpatialNet.Heads;

/// <summary>Settings of a <see cref="VqaHead"/> (visual question answering over an answer vocabulary).</summary>
/// <remarks>
/// The text settings inherited from <see cref="TextHeadOptions"/> describe the question encoder
/// (<see cref="TextHeadOptions.Depth"/> layers; 0 leaves token plus position embeddings) and the
/// width and heads of the fusion layers. <see cref="TaskHeadOptions.Pooling"/> is the image pooling
/// of <see cref="VqaFusionKind.ElementwiseProduct"/> fusion (cross-attention reads every token).
/// </remarks>
public sealed class VqaHeadOptions : TextHeadOptions
{
    /// <summary>Size A of the answer vocabulary (yes/no, rural/urban, count bins, …); at least 2.</summary>
    public int NumAnswers { get; set; }

    /// <summary>Batch entry holding the question token ids [B, L] (int64, padded with <see cref="TextHeadOptions.PadId"/>). Default "question".</summary>
    public string QuestionInput { get; set; } = "question";

    /// <summary>How question and image are combined. Default <see cref="VqaFusionKind.CrossAttention"/>.</summary>
    public VqaFusionKind Fusion { get; set; } = VqaFusionKind.CrossAttention;

    /// <summary>Cross-attention fusion layers (with <see cref="VqaFusionKind.CrossAttention"/>); at least 1. Default 1.</summary>
    public int FusionDepth { get; set; } = 1;

    /// <summary>
    /// Width of the element-wise product (with <see cref="VqaFusionKind.ElementwiseProduct"/>; RSVQA
    /// uses 1200); null (default) uses the text width.
    /// </summary>
    public int? FusionDim { get; set; }

    /// <summary>Hidden width of the answer classifier's MLP (RSVQA: 256); 0 makes the classifier one linear layer. Default 256.</summary>
    public int ClassifierHiddenDim { get; set; } = 256;

    /// <summary>Answer target that marks a sample without an answer for this loss (it adds nothing). Default −100.</summary>
    public long IgnoreIndex { get; set; } = -100;

    /// <summary>
    /// Adds a count-regression branch: one more output (column A) regressing the count, trained with
    /// MSE on the samples whose <see cref="CountInput"/> is finite. Default off.
    /// </summary>
    public bool CountRegression { get; set; }

    /// <summary>Batch entry holding the count target [B] (float; NaN for questions that are not count questions). Default "count", the RSVQA dataset's entry.</summary>
    public string CountInput { get; set; } = "count";

    /// <summary>Weight of the count MSE added to the answer cross-entropy; finite and ≥ 0. Default 1.</summary>
    public double CountLossWeight { get; set; } = 1.0;

    /// <summary>
    /// Regress log(1 + count) instead of the count (counts span orders of magnitude; the prediction
    /// is mapped back with exp(y) − 1, floored at 0). Default true.
    /// </summary>
    public bool CountLogScale { get; set; } = true;

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (NumAnswers < 2)
        {
            errors.Add(Message(taskName, nameof(NumAnswers), NumAnswers, "an integer >= 2 (the size of the answer vocabulary)"));
        }

        CheckName(taskName, nameof(QuestionInput), QuestionInput, errors);
        if (!Enum.IsDefined(Fusion))
        {
            errors.Add(Message(taskName, nameof(Fusion), Fusion, "CrossAttention or ElementwiseProduct"));
        }

        if (Fusion == VqaFusionKind.CrossAttention && FusionDepth < 1)
        {
            errors.Add(Message(taskName, nameof(FusionDepth), FusionDepth, "an integer >= 1 (with CrossAttention fusion)"));
        }

        if (FusionDim is { } fusionDim && fusionDim < 1)
        {
            errors.Add(Message(taskName, nameof(FusionDim), fusionDim, "null (the text width) or an integer >= 1"));
        }

        if (ClassifierHiddenDim < 0)
        {
            errors.Add(Message(taskName, nameof(ClassifierHiddenDim), ClassifierHiddenDim, "0 (one linear layer) or an integer >= 1"));
        }

        if (IgnoreIndex >= 0 && IgnoreIndex < NumAnswers)
        {
            errors.Add(Message(taskName, nameof(IgnoreIndex), IgnoreIndex, $"a value outside the answer range [0, {NumAnswers})"));
        }

        if (CountRegression)
        {
            CheckName(taskName, nameof(CountInput), CountInput, errors);
            if (!(CountLossWeight >= 0) || double.IsInfinity(CountLossWeight))
            {
                errors.Add(Message(taskName, nameof(CountLossWeight), CountLossWeight, "a finite number >= 0"));
            }
        }
    }

    private void CheckName(string taskName, string option, string? value, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add(Message(taskName, option, value is null ? null : $"'{value}'", "a non-empty batch entry name"));
        }
    }
}

namespace SpatialNet.Heads;

/// <summary>
/// Settings shared by the heads that read text tokens (<see cref="VqaHead"/>, <see cref="CaptionHead"/>):
/// the vocabulary, the padding id, the length of the position table and the small text transformer.
/// </summary>
/// <remarks>
/// <see cref="TaskHeadOptions.Dropout"/> is the dropout before the head's output layer; the text
/// transformer's own dropout is <see cref="TextDropRate"/>.
/// </remarks>
public abstract class TextHeadOptions : TaskHeadOptions
{
    /// <summary>Text vocabulary size V (ids 0..V−1, special ids included); at least 2.</summary>
    public int VocabSize { get; set; }

    /// <summary>Longest token sequence (length of the learned position table); at least 1. Default 32.</summary>
    public int MaxLength { get; set; } = 32;

    /// <summary>Padding id: positions holding it are masked out of attention, pooling and the loss. Default 0.</summary>
    public long PadId { get; set; }

    /// <summary>Width of the text tokens; null (default) uses the image encoder's width D.</summary>
    public int? EmbedDim { get; set; }

    /// <summary>Transformer layers of the text part (question encoder or caption decoder). Default 2.</summary>
    public int Depth { get; set; } = 2;

    /// <summary>Attention heads of the text layers; must divide the text width. Default 4.</summary>
    public int NumHeads { get; set; } = 4;

    /// <summary>MLP hidden width of the text layers as a multiple of the text width. Default 4.</summary>
    public double MlpRatio { get; set; } = 4.0;

    /// <summary>Dropout inside the text layers (after embeddings, projections and in the MLP), in [0, 1). Default 0.</summary>
    public double TextDropRate { get; set; }

    /// <summary>Dropout on the text layers' attention weights, in [0, 1). Default 0.</summary>
    public double TextAttnDropRate { get; set; }

    /// <summary>Label smoothing ε of the cross-entropy, in [0, 1). Default 0.</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>The text width for an image encoder of width <paramref name="imageEmbedDim"/>.</summary>
    public int ResolveEmbedDim(int imageEmbedDim) => EmbedDim ?? imageEmbedDim;

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (VocabSize < 2)
        {
            errors.Add(Message(taskName, nameof(VocabSize), VocabSize, "an integer >= 2 (the padding id and at least one word)"));
        }

        if (MaxLength < 1)
        {
            errors.Add(Message(taskName, nameof(MaxLength), MaxLength, "an integer >= 1"));
        }

        CheckId(taskName, nameof(PadId), PadId, errors);

        if (EmbedDim is { } width && (width < 1 || NumHeads >= 1 && width % NumHeads != 0))
        {
            errors.Add(Message(taskName, nameof(EmbedDim), width, $"null (the encoder width) or a positive multiple of NumHeads = {NumHeads}"));
        }

        if (Depth < MinimumDepth)
        {
            errors.Add(Message(taskName, nameof(Depth), Depth, $"an integer >= {MinimumDepth}"));
        }

        if (NumHeads < 1)
        {
            errors.Add(Message(taskName, nameof(NumHeads), NumHeads, "an integer >= 1 that divides the text width"));
        }

        if (!(MlpRatio > 0) || double.IsInfinity(MlpRatio))
        {
            errors.Add(Message(taskName, nameof(MlpRatio), MlpRatio, "a finite number > 0"));
        }

        CheckRate(taskName, nameof(TextDropRate), TextDropRate, errors);
        CheckRate(taskName, nameof(TextAttnDropRate), TextAttnDropRate, errors);
        CheckRate(taskName, nameof(LabelSmoothing), LabelSmoothing, errors);
    }

    /// <inheritdoc />
    protected override void CollectLayoutErrors(string taskName, TokenLayout layout, List<string> errors)
    {
        base.CollectLayoutErrors(taskName, layout, errors);
        if (EmbedDim is null && NumHeads >= 1 && layout.EmbedDim % NumHeads != 0)
        {
            errors.Add(Message(taskName, nameof(NumHeads), NumHeads,
                $"a positive divisor of the text width, which is the encoder width D = {layout.EmbedDim} while EmbedDim is null"));
        }
    }

    /// <summary>Fewest text layers allowed (0: embeddings only; the caption decoder needs 1).</summary>
    protected virtual int MinimumDepth => 0;

    /// <summary>Adds an error unless <paramref name="id"/> is a token id in [0, <see cref="VocabSize"/>).</summary>
    protected void CheckId(string taskName, string option, long id, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (id < 0 || VocabSize >= 1 && id >= VocabSize)
        {
            errors.Add(Message(taskName, option, id, $"a token id in [0, VocabSize = {VocabSize})"));
        }
    }

    /// <summary>Adds an error unless <paramref name="rate"/> is in [0, 1).</summary>
    protected void CheckRate(string taskName, string option, double rate, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(rate >= 0 && rate < 1))
        {
            errors.Add(Message(taskName, option, rate, "a number in [0, 1)"));
        }
    }
}

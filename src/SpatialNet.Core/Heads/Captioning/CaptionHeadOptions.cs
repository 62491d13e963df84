namespace SpatialNet.Heads;

/// <summary>Settings of a <see cref="CaptionHead"/> (transformer caption decoder).</summary>
/// <remarks>
/// The text settings inherited from <see cref="TextHeadOptions"/> describe the decoder:
/// <see cref="TextHeadOptions.Depth"/> layers (at least 1), <see cref="TextHeadOptions.MaxLength"/>
/// the longest caption sequence with its start and end tokens (the position table's length).
/// <see cref="TaskHeadOptions.Dropout"/> applies before the output projection;
/// <see cref="TaskHeadOptions.Pooling"/> is not used (the decoder attends to every image token).
/// </remarks>
public sealed class CaptionHeadOptions : TextHeadOptions
{
    /// <summary>Start-of-sequence id (the first decoder input). Default 1.</summary>
    public long BosId { get; set; } = 1;

    /// <summary>End-of-sequence id (ends a generated caption). Default 2.</summary>
    public long EosId { get; set; } = 2;

    /// <summary>
    /// Share the token embedding matrix with the output projection (Press and Wolf, 2017, "Using
    /// the Output Embedding to Improve Language Models"): fewer parameters, usually better on small
    /// caption sets. Default true.
    /// </summary>
    public bool TieEmbeddings { get; set; } = true;

    /// <summary>
    /// Batch entry holding the caption ids [B, L] (int64): the start token, the words, the end token,
    /// then padding. Default "caption".
    /// </summary>
    public string CaptionInput { get; set; } = "caption";

    /// <summary>Default settings of <see cref="CaptionHead.Generate"/> (beam width, length penalty, maximum length, no-repeat n-gram).</summary>
    public SequenceDecodingOptions Decoding { get; set; } = new();

    /// <inheritdoc />
    protected override int MinimumDepth => 1;

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (MaxLength < 2)
        {
            errors.Add(Message(taskName, nameof(MaxLength), MaxLength, "an integer >= 2 (a caption holds at least the start and end tokens)"));
        }

        CheckId(taskName, nameof(BosId), BosId, errors);
        CheckId(taskName, nameof(EosId), EosId, errors);
        if (PadId == BosId || PadId == EosId || BosId == EosId)
        {
            errors.Add(Message(taskName, "PadId/BosId/EosId", $"{PadId}/{BosId}/{EosId}", "three different token ids"));
        }

        if (string.IsNullOrWhiteSpace(CaptionInput))
        {
            errors.Add(Message(taskName, nameof(CaptionInput), CaptionInput is null ? null : $"'{CaptionInput}'", "a non-empty batch entry name"));
        }

        if (Decoding is null)
        {
            errors.Add(Message(taskName, nameof(Decoding), null, "a SequenceDecodingOptions"));
        }
        else
        {
            errors.AddRange(Decoding.Validate($"Task '{taskName}': {GetType().Name}.{nameof(Decoding)}", Math.Max(1, MaxLength - 1)));
        }
    }
}

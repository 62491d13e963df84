using SpatialNet.Heads;
using SpatialNet.Training.Text;

namespace SpatialNet.Training.Workflow;

/// <summary>
/// The <c>caption</c> object of a <c>caption</c> task: the transformer decoder, how captions are
/// generated for evaluation, and how the caption evaluation picks its retrieval baseline. Vocabulary
/// size, longest caption and the special ids come from the source's caption encoder
/// (<see cref="TextHeadConfiguration.ConfigureCaptionHead"/>), not from here.
/// </summary>
public sealed class CaptionTaskConfig
{
    /// <summary>Decoder layers (at least 1).</summary>
    public int Depth { get; set; } = 2;

    /// <summary>Attention heads of the decoder; null: <c>model.num_heads</c>.</summary>
    public int? NumHeads { get; set; }

    /// <summary>MLP width of the decoder layers as a multiple of the text width.</summary>
    public double MlpRatio { get; set; } = 4.0;

    /// <summary>Dropout inside the decoder layers.</summary>
    public double DropRate { get; set; }

    /// <summary>Share the token embedding with the output projection.</summary>
    public bool TieEmbeddings { get; set; } = true;

    /// <summary>How captions are generated for evaluation.</summary>
    public DecodingConfig Decoding { get; set; } = new();

    /// <summary>
    /// The classification task whose predicted class picks the retrieved caption of the retrieval
    /// baseline; null: the first classification task of the same source whose target is <c>label</c>
    /// (without one, Table I shows the true-class retrieval only).
    /// </summary>
    public string? RetrievalTask { get; set; }

    /// <summary>Generate and score captions on the evaluation split after every epoch (<c>{task}/cider</c> etc. become epoch metrics); false: only for the reports.</summary>
    public bool EvaluateEveryEpoch { get; set; } = true;

    internal void Collect(string at, int modelEmbedDim, int modelHeads, ConfigCheck check)
    {
        check(Depth >= 1, $"{at}.depth", Depth, "an integer >= 1");
        check(NumHeads is null || (NumHeads > 0 && modelEmbedDim % NumHeads == 0), $"{at}.num_heads", NumHeads,
            $"null (model.num_heads = {modelHeads}) or a positive divisor of model.embed_dim ({modelEmbedDim})");
        check(MlpRatio > 0 && double.IsFinite(MlpRatio), $"{at}.mlp_ratio", MlpRatio, "a finite number > 0");
        check(DropRate is >= 0 and < 1, $"{at}.drop_rate", DropRate, "a number in [0, 1)");
        if (Decoding is null)
            check(false, $"{at}.decoding", null, "an object");
        else
            Decoding.Collect($"{at}.decoding", check);
    }

    /// <summary>The caption head of a task, its text settings from <paramref name="encoder"/>.</summary>
    internal CaptionHead CreateHead(TaskConfig task, TokenLayout layout, TextEncoder encoder, string captionInput, int modelHeads)
    {
        var options = encoder.ConfigureCaptionHead(new CaptionHeadOptions
        {
            Depth = Depth,
            NumHeads = NumHeads ?? modelHeads,
            MlpRatio = MlpRatio,
            TextDropRate = DropRate,
            TieEmbeddings = TieEmbeddings,
            CaptionInput = captionInput,
            LabelSmoothing = task.LabelSmoothing,
            Dropout = task.Dropout,
            LossWeight = task.LossWeight,
        });
        options.Decoding = Decoding.ToOptions();
        return new CaptionHead(task.Name, layout, options);
    }
}

/// <summary>Caption generation settings (<see cref="SequenceDecodingOptions"/>) of a <c>caption</c> task.</summary>
public sealed class DecodingConfig
{
    /// <summary>Beams per image; 1 decodes greedily.</summary>
    public int BeamWidth { get; set; } = 3;

    /// <summary>Most generated tokens (end token included); null: the caption encoder's length minus the start token.</summary>
    public int? MaxLength { get; set; }

    /// <summary><c>none</c>, <c>power</c> (|Y|^α) or <c>gnmt</c> (((5 + |Y|)/6)^α, Wu et al. 2016).</summary>
    public string LengthPenalty { get; set; } = "none";

    /// <summary>α of the length penalty.</summary>
    public double LengthPenaltyAlpha { get; set; } = 1.0;

    /// <summary>Forbid repeating n-grams of this size (0: off).</summary>
    public int NoRepeatNgramSize { get; set; }

    /// <summary>Decode incrementally with a key/value cache (default); <c>false</c> recomputes the whole prefix each step (same captions, slower).</summary>
    public bool UseCache { get; set; } = true;

    /// <summary>The decoding options these settings describe.</summary>
    public SequenceDecodingOptions ToOptions() => new()
    {
        BeamWidth = BeamWidth,
        MaxLength = MaxLength,
        LengthPenalty = LengthPenalty switch
        {
            "power" => LengthPenaltyKind.Power,
            "gnmt" => LengthPenaltyKind.Gnmt,
            _ => LengthPenaltyKind.None,
        },
        LengthPenaltyAlpha = LengthPenaltyAlpha,
        NoRepeatNgramSize = NoRepeatNgramSize,
        UseCache = UseCache,
    };

    internal void Collect(string at, ConfigCheck check)
    {
        check(BeamWidth >= 1, $"{at}.beam_width", BeamWidth, "an integer >= 1 (1 decodes greedily)");
        check(MaxLength is null or >= 1, $"{at}.max_length", MaxLength, "a positive integer or null");
        check(LengthPenalty is "none" or "power" or "gnmt", $"{at}.length_penalty", LengthPenalty, "none, power or gnmt");
        check(LengthPenaltyAlpha >= 0 && double.IsFinite(LengthPenaltyAlpha), $"{at}.length_penalty_alpha", LengthPenaltyAlpha, "a finite number >= 0");
        check(NoRepeatNgramSize >= 0, $"{at}.no_repeat_ngram_size", NoRepeatNgramSize, "an integer >= 0 (0: off)");
    }
}

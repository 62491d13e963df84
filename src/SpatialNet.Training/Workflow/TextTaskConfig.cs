using SpatialNet.Heads;
using SpatialNet.Training.Text;

namespace SpatialNet.Training.Workflow;

/// <summary>
/// The text part of a <c>caption</c> or <c>vqa</c> task (the <c>text</c> object of a task): the small
/// transformer that decodes captions or encodes questions, VQA fusion, caption decoding and how the
/// caption evaluation picks its retrieval baseline. Vocabulary size, longest sequence and the special
/// ids come from the data's encoders (<see cref="TextHeadConfiguration"/>), not from here.
/// </summary>
public sealed class TextTaskConfig
{
    /// <summary>Transformer layers of the caption decoder or question encoder.</summary>
    public int Depth { get; set; } = 2;

    /// <summary>Attention heads of the text layers; null: <c>model.num_heads</c>.</summary>
    public int? NumHeads { get; set; }

    /// <summary>MLP width of the text layers as a multiple of the text width.</summary>
    public double MlpRatio { get; set; } = 4.0;

    /// <summary>Dropout inside the text layers.</summary>
    public double DropRate { get; set; }

    /// <summary>Caption: share the token embedding with the output projection.</summary>
    public bool TieEmbeddings { get; set; } = true;

    /// <summary>
    /// VQA: an image-only answer classifier that ignores the question (a bias probe and the RSVQA
    /// image-only baseline), its answer probabilities conditioned on the question type's training answer
    /// frequencies when scored.
    /// Default false: the VQA head reads the question.
    /// </summary>
    public bool QuestionAgnostic { get; set; }

    /// <summary>VQA: <c>cross_attention</c> (question tokens attend to image tokens) or <c>elementwise_product</c> (the RSVQA baseline's fusion).</summary>
    public string Fusion { get; set; } = "cross_attention";

    /// <summary>VQA: decoder blocks of the cross-attention fusion.</summary>
    public int FusionDepth { get; set; } = 1;

    /// <summary>VQA: width of the element-wise-product fusion; null: the text width.</summary>
    public int? FusionDim { get; set; }

    /// <summary>VQA: hidden width of the answer classifier (0: one linear layer).</summary>
    public int ClassifierHiddenDim { get; set; } = 256;

    /// <summary>Caption: how captions are generated for evaluation.</summary>
    public DecodingConfig Decoding { get; set; } = new();

    /// <summary>
    /// Caption: the classification task whose predicted class picks the retrieved caption of the
    /// retrieval baseline; null: the first classification task of the same source whose target is <c>label</c>
    /// (without one, Table I shows the true-class retrieval only).
    /// </summary>
    public string? RetrievalTask { get; set; }

    /// <summary>Caption: generate and score captions on the evaluation split after every epoch (<c>{task}/cider</c> etc. become epoch metrics); false: only at the end.</summary>
    public bool EvaluateEveryEpoch { get; set; } = true;

    internal void Collect(string at, string kind, int modelEmbedDim, int modelHeads, ConfigCheck check)
    {
        int heads = NumHeads ?? modelHeads;
        check(Depth >= (kind == "caption" ? 1 : 0), $"{at}.depth", Depth, kind == "caption" ? "an integer >= 1" : "an integer >= 0");
        check(NumHeads is null || (NumHeads > 0 && modelEmbedDim % NumHeads == 0), $"{at}.num_heads", NumHeads,
            $"null (model.num_heads) or a positive divisor of model.embed_dim ({modelEmbedDim})");
        check(heads > 0, $"{at}.num_heads", heads, "a positive integer");
        check(MlpRatio > 0 && double.IsFinite(MlpRatio), $"{at}.mlp_ratio", MlpRatio, "a finite number > 0");
        check(DropRate is >= 0 and < 1, $"{at}.drop_rate", DropRate, "a number in [0, 1)");
        check(Fusion is "cross_attention" or "elementwise_product", $"{at}.fusion", Fusion, "cross_attention or elementwise_product");
        check(FusionDepth >= 1, $"{at}.fusion_depth", FusionDepth, "an integer >= 1");
        check(FusionDim is null or >= 1, $"{at}.fusion_dim", FusionDim, "a positive integer or null");
        check(ClassifierHiddenDim >= 0, $"{at}.classifier_hidden_dim", ClassifierHiddenDim, "an integer >= 0");
        if (Decoding is null)
            check(false, $"{at}.decoding", null, "an object");
        else
            Decoding.Collect($"{at}.decoding", check);
    }

    /// <summary>The caption head of a task, its text settings from <paramref name="encoder"/>.</summary>
    internal CaptionHead CreateCaptionHead(TaskConfig task, TokenLayout layout, TextEncoder encoder, string captionInput, int modelHeads)
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

    /// <summary>The VQA head of a task, its text settings from the question encoder and answer vocabulary.</summary>
    internal VqaHead CreateVqaHead(TaskConfig task, TokenLayout layout, TextEncoder questions, AnswerVocabulary answers, int modelHeads) =>
        new(task.Name, layout, questions.ConfigureVqaHead(answers, new VqaHeadOptions
        {
            Depth = Depth,
            NumHeads = NumHeads ?? modelHeads,
            MlpRatio = MlpRatio,
            TextDropRate = DropRate,
            Fusion = Fusion == "elementwise_product" ? VqaFusionKind.ElementwiseProduct : VqaFusionKind.CrossAttention,
            FusionDepth = FusionDepth,
            FusionDim = FusionDim,
            ClassifierHiddenDim = ClassifierHiddenDim,
            LabelSmoothing = task.LabelSmoothing,
            Dropout = task.Dropout,
            LossWeight = task.LossWeight,
        }));
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

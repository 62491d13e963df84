using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Visual question answering as classification over an answer vocabulary: a question encoder
/// (replaceable, <see cref="IQuestionEncoder"/>), a fusion of the question with the image tokens
/// (<see cref="VqaFusionKind"/>), and an answer classifier; optionally a count-regression branch.
/// </summary>
/// <remarks>
/// <para>
/// Inputs: the batch entry <see cref="VqaHeadOptions.QuestionInput"/> holds question ids [B, L]
/// (int64, padded with <see cref="TextHeadOptions.PadId"/>). Targets: answer indices [B] (int64;
/// <see cref="VqaHeadOptions.IgnoreIndex"/> for none).
/// </para>
/// <para>
/// Output of <c>forward</c>: answer logits [B, A]; with the count branch [B, A + 1], column A being
/// the count in regression units (log(1 + count) with <see cref="VqaHeadOptions.CountLogScale"/>).
/// Loss: cross-entropy with label smoothing ε over the answers, as <see cref="ClassificationHead"/>
/// (paper Eq. 7), plus <see cref="VqaHeadOptions.CountLossWeight"/> × MSE (Eq. 8) on the samples
/// whose count target is finite. <see cref="Predict"/>: answer probabilities [B, A] (softmax), with
/// the count in target units appended as column A when the branch is on.
/// </para>
/// <para>
/// State-dict names: <c>question_encoder.*</c>, <c>fusion.*</c>, <c>classifier.*</c>,
/// <c>count_head.*</c> (count branch only).
/// </para>
/// </remarks>
public sealed class VqaHead : TaskHead
{
    private readonly nn.Module question_encoder;
    private readonly VqaFusion fusion;
    private readonly AnswerClassifier classifier;
    private readonly Linear? count_head;
    // Held in a plain object: a field whose value is a module would be registered a second time.
    private readonly EncoderReference questionEncoder;
    private readonly bool countLogScale;
    private readonly double countLossWeight;

    /// <summary>Creates the head.</summary>
    /// <param name="taskName">Task name.</param>
    /// <param name="layout">Token width and prefix count of the image encoder.</param>
    /// <param name="options">Head settings; validated here.</param>
    /// <param name="questionEncoder">
    /// A question encoder to use instead of the default <see cref="TransformerQuestionEncoder"/>
    /// (whose width then replaces <see cref="TextHeadOptions.EmbedDim"/>); it becomes part of the head.
    /// </param>
    /// <exception cref="ArgumentException">Invalid options (the message names each option and its allowed values).</exception>
    public VqaHead(string taskName, TokenLayout layout, VqaHeadOptions options, IQuestionEncoder? questionEncoder = null)
        : base(taskName, Validated(taskName, layout, options, questionEncoder))
    {
        int textDim = questionEncoder?.EmbedDim ?? options.ResolveEmbedDim(layout.EmbedDim);
        var encoder = questionEncoder ?? new TransformerQuestionEncoder(options.VocabSize, options.MaxLength, textDim,
            options.Depth, options.NumHeads, options.MlpRatio, options.TextDropRate, options.TextAttnDropRate);
        this.questionEncoder = new EncoderReference(encoder);
        question_encoder = encoder.AsModule();
        fusion = VqaFusion.Create(options, layout, textDim);
        classifier = new AnswerClassifier(fusion.OutputDim, options.ClassifierHiddenDim, options.NumAnswers, options.Dropout);
        if (options.CountRegression)
        {
            count_head = nn.Linear(fusion.OutputDim, 1);
        }

        NumAnswers = options.NumAnswers;
        PadId = options.PadId;
        LabelSmoothing = options.LabelSmoothing;
        IgnoreIndex = options.IgnoreIndex;
        QuestionInput = options.QuestionInput;
        CountInput = options.CountRegression ? options.CountInput : null;
        countLogScale = options.CountLogScale;
        countLossWeight = options.CountLossWeight;
        RegisterComponents();
        if (count_head is not null)
        {
            Modules.TimmInit.Linear(count_head);
        }
    }

    // Runs before any native module is allocated.
    private static TokenLayout Validated(string taskName, TokenLayout layout, VqaHeadOptions options, IQuestionEncoder? questionEncoder)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid(taskName, questionEncoder is null ? layout : null);
        if (questionEncoder is not null
            && (questionEncoder.EmbedDim < 1 || options.Fusion == VqaFusionKind.CrossAttention && questionEncoder.EmbedDim % options.NumHeads != 0))
        {
            // The fusion layers run at the custom encoder's width: its heads must divide it.
            throw new ArgumentException(
                $"Task '{taskName}': the question encoder's width {questionEncoder.EmbedDim} is not a positive multiple of VqaHeadOptions.NumHeads = {options.NumHeads} (the fusion layers' heads).",
                nameof(questionEncoder));
        }

        return layout;
    }

    /// <inheritdoc />
    public override TaskKind Kind => TaskKind.VisualQuestionAnswering;

    /// <inheritdoc />
    public override IReadOnlyList<string> InputNames => [QuestionInput];

    /// <summary>Size A of the answer vocabulary.</summary>
    public int NumAnswers { get; }

    /// <summary>Padding id of the question tokens.</summary>
    public long PadId { get; }

    /// <summary>Label smoothing ε of the answer cross-entropy.</summary>
    public double LabelSmoothing { get; }

    /// <summary>Answer target ignored by the loss.</summary>
    public long IgnoreIndex { get; }

    /// <summary>Batch entry of the question ids.</summary>
    public string QuestionInput { get; }

    /// <summary>Batch entry of the count targets, or null without the count branch.</summary>
    public string? CountInput { get; }

    /// <summary>Whether the head has the count-regression branch (output column A).</summary>
    public bool HasCountBranch => count_head is not null;

    /// <summary>The question encoder.</summary>
    public IQuestionEncoder QuestionEncoder => questionEncoder.Value;

    /// <summary>The fusion of question and image.</summary>
    public VqaFusionKind Fusion => fusion.Kind;

    /// <summary>Image tokens [B, N, D] and the question → answer logits [B, A] (or [B, A + 1] with the count branch).</summary>
    /// <exception cref="KeyNotFoundException">The batch has no question entry.</exception>
    /// <exception cref="ArgumentException">Tokens or question ids of the wrong shape or type.</exception>
    public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs)
    {
        CheckTokens(tokens);
        var ids = GetInput(inputs, QuestionInput);
        if (ids.dim() != 2 || ids.dtype != int64 || ids.shape[0] != tokens.shape[0])
        {
            throw new ArgumentException(
                $"Task '{TaskName}': input '{QuestionInput}' must be question ids [B, L] int64 with B = {tokens.shape[0]}; got [{string.Join(", ", ids.shape)}] {ids.dtype}.",
                nameof(inputs));
        }

        using var scope = NewDisposeScope();
        var valid = TextMasks.Valid(ids, PadId);
        var questionTokens = questionEncoder.Value.Encode(ids, valid);
        var fused = fusion.call(tokens, questionTokens, valid);
        var logits = classifier.call(fused);
        if (count_head is not null)
        {
            logits = cat([logits, count_head.call(fused)], 1);
        }

        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>The answer logits (or probabilities) [B, A] of a <c>forward</c> (or <see cref="Predict"/>) output.</summary>
    public Tensor Answers(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return predictions.narrow(1, 0, NumAnswers);
    }

    /// <summary>The count column [B] of a <c>forward</c> or <see cref="Predict"/> output.</summary>
    /// <exception cref="InvalidOperationException">The head has no count branch.</exception>
    public Tensor Counts(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        if (count_head is null)
        {
            throw new InvalidOperationException($"Task '{TaskName}' has no count branch (VqaHeadOptions.CountRegression is false).");
        }

        return predictions.select(1, NumAnswers);
    }

    /// <summary>Answer cross-entropy (Eq. 7, with label smoothing) plus the weighted count MSE (Eq. 8) when the branch is on.</summary>
    /// <exception cref="ArgumentException">Targets do not match the batch.</exception>
    /// <exception cref="KeyNotFoundException">The count branch is on and the batch has no count entry.</exception>
    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.dim() != 1 || targets.shape[0] != predictions.shape[0] || targets.is_floating_point())
        {
            throw new ArgumentException(
                $"Task '{TaskName}': targets must be answer indices [B] (integer) with B = {predictions.shape[0]}; got [{string.Join(", ", targets.shape)}] {targets.dtype}.",
                nameof(targets));
        }

        using var scope = NewDisposeScope();
        var loss = nn.functional.cross_entropy(Answers(predictions), targets.to(int64), null, IgnoreIndex, nn.Reduction.Mean, LabelSmoothing);
        if (count_head is not null)
        {
            var counts = GetInput(inputs, CountInput!).to(ScalarType.Float32).reshape(-1);
            if (counts.shape[0] != predictions.shape[0])
            {
                throw new ArgumentException($"Task '{TaskName}': input '{CountInput}' must hold one count per sample ([{predictions.shape[0]}]); got [{string.Join(", ", counts.shape)}].", nameof(inputs));
            }

            // Mean squared error over the count questions only (non-finite entries mark the others),
            // computed with a mask rather than a branch so that no value is read back from the device;
            // a batch without count questions adds exactly 0.
            // In float32 whatever the compute dtype (bf16 holds integers exactly only up to 256). Non-count
            // rows are masked before the difference, so they add exactly 0 to the loss and its gradient.
            var isCount = counts.isfinite();
            var target = where(isCount, counts, zeros_like(counts));
            target = countLogScale ? target.clamp_min(0).log1p() : target;
            var predicted = Counts(predictions).reshape(-1).to(ScalarType.Float32);
            var difference = where(isCount, predicted, target) - target;
            var questions = isCount.to(ScalarType.Float32).sum().clamp_min(1);
            loss = loss + countLossWeight * (difference.square().sum() / questions).to(loss.dtype);
        }

        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Answer probabilities [B, A] (softmax), plus the count in target units as column A with the count branch.</summary>
    public override Tensor Predict(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        using var scope = NewDisposeScope();
        var probabilities = Answers(predictions).softmax(-1);
        if (count_head is not null)
        {
            var count = Counts(predictions);
            count = countLogScale ? count.expm1().clamp_min(0) : count;
            probabilities = cat([probabilities, count.unsqueeze(1)], 1);
        }

        return probabilities.MoveToOuterDisposeScope();
    }

    private sealed class EncoderReference(IQuestionEncoder value)
    {
        public IQuestionEncoder Value { get; } = value;
    }
}

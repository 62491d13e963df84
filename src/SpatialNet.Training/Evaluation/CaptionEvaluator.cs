using SpatialNet.Training.Batching;
using System.Globalization;
using System.Text.Json.Nodes;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics.Captioning;
using SpatialNet.Training.Text;
using SpatialNet.Training.Transforms;
using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>One image to caption: the id it is scored under, its reference captions and its true class (when known).</summary>
/// <param name="Id">Image id (unique within the split).</param>
/// <param name="References">Every reference caption of the image.</param>
/// <param name="Label">True land-use class, or null when unknown.</param>
public sealed record CaptionReferenceImage(string Id, IReadOnlyList<string> References, int? Label);

/// <summary>Settings of <see cref="CaptionEvaluator"/>.</summary>
public sealed record CaptionEvaluatorOptions
{
    /// <summary>Task name of the caption head. Default "caption".</summary>
    public string CaptionTask { get; init; } = "caption";

    /// <summary>
    /// Task name of the land-use classification head whose predictions choose the retrieved caption;
    /// null: the model has none, and only the true-class retrieval row is reported.
    /// </summary>
    public string? ClassificationTask { get; init; }

    /// <summary>Decoding settings (greedy = beam width 1, beam width, length penalty, no-repeat n-gram); null uses the head's.</summary>
    public SequenceDecodingOptions? Decoding { get; init; }

    /// <summary>Caption scorer settings (tokenisation, METEOR on or off); null for the defaults.</summary>
    public CaptionScorerOptions? Scoring { get; init; }

    /// <summary>Batch entry of the images. Default "image".</summary>
    public string ImageKey { get; init; } = SampleKeys.Image;

    /// <summary>Batch entry of each sample's index into the reference list. Default "index".</summary>
    public string IndexKey { get; init; } = SampleKeys.Index;

    /// <summary>Name of the evaluated split, for reports. Default "test".</summary>
    public string Split { get; init; } = "test";
}

/// <summary>Which system a row of Table I is.</summary>
public enum CaptionSystemKind
{
    /// <summary>The model's generated captions.</summary>
    Model,

    /// <summary>The most frequent training caption of the class the model's land-use head predicts.</summary>
    RetrievalPredictedClass,

    /// <summary>The most frequent training caption of the true class (a perfect classifier plus retrieval).</summary>
    RetrievalTrueClass,

    /// <summary>The most frequent training caption of all classes, the same for every image (ignores the image).</summary>
    MostFrequentCaption,
}

/// <summary>A system's corpus scores.</summary>
/// <param name="Name">Row name in Table I.</param>
/// <param name="Kind">Which system it is.</param>
/// <param name="Scores">Its scores under COCO names (<see cref="CaptionScores.MetricNames"/>).</param>
public sealed record CaptionSystemResult(string Name, CaptionSystemKind Kind, CaptionScores Scores)
{
    /// <summary>The corpus scores under Core's names (<c>bleu_1</c> … <c>cider</c>), in Table I order.</summary>
    public IReadOnlyDictionary<string, double> Metrics => CaptionMetricNames.ToCore(Scores.Corpus);
}

/// <summary>What each system said about one image.</summary>
/// <param name="ImageId">Image id.</param>
/// <param name="Generated">The model's caption (detokenised).</param>
/// <param name="TrueLabel">True class, when known.</param>
/// <param name="PredictedLabel">The land-use head's class, when the model has one.</param>
/// <param name="RetrievedForPrediction">Retrieved caption of the predicted class, when the model has a land-use head.</param>
/// <param name="RetrievedForTrueLabel">Retrieved caption of the true class, when known.</param>
/// <param name="References">The reference captions.</param>
public sealed record CaptionPrediction(string ImageId, string Generated, int? TrueLabel, int? PredictedLabel,
    string? RetrievedForPrediction, string? RetrievedForTrueLabel, IReadOnlyList<string> References);

/// <summary>A captioning evaluation: the model and its baselines scored on one split (Table I), and every caption.</summary>
public sealed class CaptionEvaluationResult
{
    /// <summary>Creates the result (the evaluator does; tests and tools may assemble one from stored scores).</summary>
    /// <param name="split">Evaluated split.</param>
    /// <param name="task">Caption task name.</param>
    /// <param name="decoding">How captions were generated.</param>
    /// <param name="systems">Table I's rows, the model's first; at least one retrieval row.</param>
    /// <param name="captions">Every image's captions.</param>
    /// <param name="landUseAccuracy">Accuracy of the predicted classes behind the retrieval row, when known.</param>
    /// <exception cref="ArgumentException">The first row is not the model's, or no retrieval row is given.</exception>
    public CaptionEvaluationResult(string split, string task, string decoding, IReadOnlyList<CaptionSystemResult> systems,
        IReadOnlyList<CaptionPrediction> captions, double? landUseAccuracy)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(decoding);
        ArgumentNullException.ThrowIfNull(systems);
        ArgumentNullException.ThrowIfNull(captions);
        if (systems.Count == 0 || systems[0].Kind != CaptionSystemKind.Model)
            throw new ArgumentException("The first system must be the model's row.", nameof(systems));
        if (!systems.Any(s => s.Kind is CaptionSystemKind.RetrievalPredictedClass or CaptionSystemKind.RetrievalTrueClass))
            throw new ArgumentException("A captioning result always carries a retrieval baseline row.", nameof(systems));
        Split = split;
        Task = task;
        Decoding = decoding;
        Systems = systems;
        Captions = captions;
        LandUseAccuracy = landUseAccuracy;
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, value) in Model.Metrics)
            metrics[task + "/" + name] = value;
        Metrics = metrics;
    }

    /// <summary>Evaluated split.</summary>
    public string Split { get; }

    /// <summary>Caption task name.</summary>
    public string Task { get; }

    /// <summary>How captions were generated ("greedy", "beam 3", with any length penalty or n-gram block).</summary>
    public string Decoding { get; }

    /// <summary>Table I's rows: the model first, then the retrieval baselines and the image-blind caption.</summary>
    public IReadOnlyList<CaptionSystemResult> Systems { get; }

    /// <summary>The model's row.</summary>
    public CaptionSystemResult Model => Systems[0];

    /// <summary>Every image's captions, in evaluation order.</summary>
    public IReadOnlyList<CaptionPrediction> Captions { get; }

    /// <summary>Accuracy of the land-use predictions that chose the retrieved captions (null without a land-use head or true labels).</summary>
    public double? LandUseAccuracy { get; }

    /// <summary>The model's scores as <c>{task}/{metric}</c> with Core's names (<c>caption/bleu_4</c>), as epoch metrics.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>The row of <paramref name="kind"/>, or null when it was not computed.</summary>
    public CaptionSystemResult? System(CaptionSystemKind kind) => Systems.FirstOrDefault(s => s.Kind == kind);

    /// <summary>
    /// Table I's system rows for <see cref="PaperTables"/>: the model, the retrieval of the predicted
    /// class and the image-blind caption — every row except <see cref="RetrievalBaselineRow"/>, which
    /// Table I prints last.
    /// </summary>
    public IReadOnlyList<CaptioningRow> TableRows =>
        Systems.Where(s => !ReferenceEquals(s, BaselineSystem)).Select(s => CaptioningRow.From(s.Name, s.Scores)).ToArray();

    /// <summary>The retrieval baseline row of Table I: the true class's most frequent caption, or (without true classes) the predicted class's.</summary>
    public CaptioningRow RetrievalBaselineRow => CaptioningRow.From(BaselineSystem.Name, BaselineSystem.Scores);

    private CaptionSystemResult BaselineSystem => System(CaptionSystemKind.RetrievalTrueClass) ?? System(CaptionSystemKind.RetrievalPredictedClass)!;

    /// <summary>Table I in Markdown (values ×100, two decimals; <see cref="PaperTables.CaptioningMarkdown"/>).</summary>
    public string ToMarkdown() => PaperTables.CaptioningMarkdown([.. TableRows], RetrievalBaselineRow);

    /// <summary>
    /// The evaluation as JSON: Table I (<see cref="PaperTables.CaptioningJson"/>), the split, task, decoding
    /// and land-use accuracy, and every image's captions.
    /// </summary>
    public JsonObject ToJson()
    {
        var images = new JsonArray();
        foreach (var c in Captions)
        {
            images.Add(new JsonObject
            {
                ["image_id"] = c.ImageId,
                ["generated"] = c.Generated,
                ["true_label"] = c.TrueLabel,
                ["predicted_label"] = c.PredictedLabel,
                ["retrieved_for_prediction"] = c.RetrievedForPrediction,
                ["retrieved_for_true_label"] = c.RetrievedForTrueLabel,
                ["references"] = new JsonArray(c.References.Select(r => (JsonNode?)r).ToArray()),
            });
        }
        return new JsonObject
        {
            ["split"] = Split,
            ["task"] = Task,
            ["decoding"] = Decoding,
            ["land_use_accuracy"] = LandUseAccuracy is double a ? PaperTables.Json(a) : null,
            ["table_i"] = PaperTables.CaptioningJson([.. TableRows], RetrievalBaselineRow),
            ["captions"] = images,
        };
    }

    /// <summary>Adds Table I's rows to <paramref name="report"/>.</summary>
    public void AddTo(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        foreach (var row in TableRows)
            report.Captioning.Add(row);
        report.CaptioningRetrievalBaseline = RetrievalBaselineRow;
    }
}

/// <summary>
/// Evaluates a caption head the way UCM-caption results are reported: generates a caption per image
/// (greedy or beam search, <see cref="CaptionEvaluatorOptions.Decoding"/>), turns the ids back into
/// text with the caption <see cref="TextEncoder"/>, and scores the text against every reference with
/// <see cref="CaptionScorer"/> (BLEU-1..4, METEOR, ROUGE-L, CIDEr-D). Beside the model it always scores
/// the retrieval baseline — the most frequent training caption of the class the model's land-use head
/// predicts (when it has one) and of the true class — and the image-blind most frequent caption.
/// </summary>
/// <remarks>
/// The batches must visit every image once (unshuffled, one sample per image) and carry each sample's
/// index into the reference list under <see cref="CaptionEvaluatorOptions.IndexKey"/>;
/// <see cref="ForUcmCaption"/> builds such a source. As an <see cref="IEvaluator"/> it returns
/// the model's scores as <c>{task}/{metric}</c> (<c>caption/cider</c>).
/// </remarks>
public sealed class CaptionEvaluator : IEvaluator
{
    /// <summary>Table I's name of the retrieval row driven by the land-use head (followed by the task name in parentheses).</summary>
    public const string PredictedClassRetrievalName = "Retrieval: most frequent training caption of the predicted class";

    /// <summary>Table I's name of the true-class retrieval row (a perfect classifier plus retrieval).</summary>
    public const string TrueClassRetrievalName = "Retrieval oracle: most frequent training caption of the true class";

    /// <summary>Table I's name of the image-blind row.</summary>
    public const string ImageBlindName = "Most frequent training caption (ignores the image)";

    /// <inheritdoc />
    public string Split => Options.Split;

    /// <inheritdoc />
    /// <remarks>Adds Table I: the model's row, the retrieval rows and the image-blind row.</remarks>
    public void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        Run(prepare).AddTo(report);
    }

    private readonly IReadOnlyList<CaptionReferenceImage> _references;
    private readonly CaptionHead _head;
    private readonly TaskHead? _classifier;
    private readonly SequenceDecodingOptions _decoding;

    /// <summary>Creates the evaluator.</summary>
    /// <param name="model">The model; it must have the caption task (and the classification task, when named).</param>
    /// <param name="batches">The split's images, each once, unshuffled and prepared as for evaluation (normalised, on the model's device).</param>
    /// <param name="references">Sample index → the image's id, references and true class.</param>
    /// <param name="captionEncoder">The caption encoder the head was trained with (ids → words).</param>
    /// <param name="baselines">The training split's caption baselines.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="ArgumentException">The model lacks a named task, the caption task is not a <see cref="CaptionHead"/>, or the decoding settings are invalid.</exception>
    public CaptionEvaluator(MultiTaskModel model, IBatchSource batches, IReadOnlyList<CaptionReferenceImage> references, TextEncoder captionEncoder,
        CaptionBaselines baselines, CaptionEvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(captionEncoder);
        ArgumentNullException.ThrowIfNull(baselines);
        Options = options ?? new CaptionEvaluatorOptions();
        if (!model.TaskNames.Contains(Options.CaptionTask))
            throw new ArgumentException($"CaptionEvaluatorOptions.CaptionTask = '{Options.CaptionTask}' is not a task of the model; its tasks: {string.Join(", ", model.TaskNames)}.", nameof(options));
        _head = model.Head(Options.CaptionTask) as CaptionHead
            ?? throw new ArgumentException($"Task '{Options.CaptionTask}' has a {model.Head(Options.CaptionTask).GetType().Name}, not a CaptionHead.", nameof(options));
        if (Options.ClassificationTask is { } cls)
        {
            if (!model.TaskNames.Contains(cls))
                throw new ArgumentException($"CaptionEvaluatorOptions.ClassificationTask = '{cls}' is not a task of the model; its tasks: {string.Join(", ", model.TaskNames)}.", nameof(options));
            _classifier = model.Head(cls);
            if (_classifier.Kind != TaskKind.Classification)
                throw new ArgumentException($"CaptionEvaluatorOptions.ClassificationTask = '{cls}' is a {_classifier.Kind} task; the retrieval baseline needs a Classification task.", nameof(options));
        }
        _decoding = (Options.Decoding ?? _head.Decoding).WithDefaultMaxLength(_head.MaxLength - 1);
        _decoding.ThrowIfInvalid($"Task '{Options.CaptionTask}': CaptionEvaluatorOptions.Decoding", _head.MaxLength - 1);
        CheckSpecialIds(captionEncoder, _head);
        Model = model;
        Batches = batches;
        _references = references;
        CaptionEncoder = captionEncoder;
        Baselines = baselines;
    }

    /// <summary>The model.</summary>
    public MultiTaskModel Model { get; }

    /// <summary>The split's images.</summary>
    public IBatchSource Batches { get; }

    /// <summary>The caption encoder (ids → words).</summary>
    public TextEncoder CaptionEncoder { get; }

    /// <summary>The training split's caption baselines.</summary>
    public CaptionBaselines Baselines { get; }

    /// <summary>The settings.</summary>
    public CaptionEvaluatorOptions Options { get; }

    /// <summary>The decoding settings in use (maximum length filled in).</summary>
    public SequenceDecodingOptions Decoding => _decoding;

    /// <summary>The most recent result.</summary>
    public CaptionEvaluationResult? LastResult { get; private set; }

    /// <summary>
    /// An evaluator over a UCM-caption split: one sample per image whatever the split's sampling (a
    /// per-sentence split is re-read per image, sharing its image cache), every sentence of an image as
    /// its references (in the split's <see cref="UcmCaptionOptions.Source"/>), the land-use class as the
    /// true label.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="split">The split to evaluate (val or test).</param>
    /// <param name="captionEncoder">The caption encoder the head was trained with.</param>
    /// <param name="baselines">The training split's baselines (<see cref="CaptionBaselines.FromUcmCaption"/>).</param>
    /// <param name="options">Settings; null: defaults with <see cref="CaptionEvaluatorOptions.Split"/> = the split's name.</param>
    /// <param name="transform">The evaluation transforms (normalisation); null for none.</param>
    /// <param name="device">The model's device; default CPU.</param>
    /// <param name="batchSize">Images per batch.</param>
    public static CaptionEvaluator ForUcmCaption(MultiTaskModel model, UcmCaptionDataset split, TextEncoder captionEncoder, CaptionBaselines baselines,
        CaptionEvaluatorOptions? options = null, IBatchTransform? transform = null, Device? device = null, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(split);
        var perImage = split.Options.Sampling == CaptionSampling.PerImage && split.Options.CaptionEncoder is null
            ? split
            : new UcmCaptionDataset(split.Root, split.Split,
                split.Options with { Sampling = CaptionSampling.PerImage, CaptionEncoder = null, Cache = split.Cache, VerifyImages = false });
        var references = perImage.Images
            .Select(i => new CaptionReferenceImage(i.ImgId.ToString(CultureInfo.InvariantCulture), i.References(perImage.Options.Source), i.ClassIndex))
            .ToArray();
        var source = new DatasetBatchSource(new DataLoader(perImage, batchSize, shuffle: false),
            new DatasetBatchPreparation { Transform = transform }, device);
        return new CaptionEvaluator(model, source, references, captionEncoder, baselines, options ?? new CaptionEvaluatorOptions { Split = split.Split });
    }

    /// <summary>A short description of decoding settings ("greedy", "beam 3, GNMT α = 0.6, no-repeat 3").</summary>
    public static string Describe(SequenceDecodingOptions decoding)
    {
        ArgumentNullException.ThrowIfNull(decoding);
        var parts = new List<string> { decoding.BeamWidth == 1 ? "greedy" : $"beam {decoding.BeamWidth}" };
        if (decoding.BeamWidth > 1 && decoding.LengthPenalty != LengthPenaltyKind.None)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{decoding.LengthPenalty} α = {decoding.LengthPenaltyAlpha}"));
        if (decoding.NoRepeatNgramSize > 0)
            parts.Add($"no-repeat {decoding.NoRepeatNgramSize}");
        return string.Join(", ", parts);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Score(context.PrepareBatch).Metrics;
    }

    /// <summary>Evaluates now (eval mode, no gradients; the previous mode is restored).</summary>
    /// <param name="prepare">
    /// Applied to each batch before the model sees it — a trainer's the trainer's <c>PrepareBatch</c> under
    /// mixed precision; null uses the batches as they come.
    /// </param>
    /// <exception cref="InvalidOperationException">The batches held no image, or a sample index is outside the reference list.</exception>
    public CaptionEvaluationResult Run(Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null)
    {
        bool wasTraining = Model.training;
        Model.eval();
        try
        {
            using var noGrad = no_grad();
            return Score(prepare ?? (b => b));
        }
        finally
        {
            if (wasTraining)
                Model.train();
        }
    }

    private CaptionEvaluationResult Score(Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>> prepare)
    {
        var captions = new List<CaptionPrediction>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using (var batches = Batches.GetBatches(0).GetEnumerator())
        {
            while (true)
            {
                // Advanced inside the batch's scope, so each batch is freed after it is captioned.
                using var scope = NewDisposeScope();
                if (!batches.MoveNext())
                    break;
                var batch = prepare(batches.Current);
                var indices = batch[Options.IndexKey].reshape(-1).to(ScalarType.Int64).cpu().data<long>().ToArray();
                var tokens = Model.Encoder.ForwardTokens(batch[Options.ImageKey]);
                var decoded = _head.Generate(tokens, _decoding);
                int[]? predicted = null;
                if (_classifier is not null)
                {
                    var scores = _classifier.Predict(_classifier.call(tokens, batch));
                    predicted = scores.argmax(1).to(ScalarType.Int32).cpu().data<int>().ToArray();
                }
                for (int i = 0; i < indices.Length; i++)
                {
                    if (indices[i] < 0 || indices[i] >= _references.Count)
                        throw new InvalidOperationException(
                            $"Sample index {indices[i]} ('{Options.IndexKey}') is outside the {_references.Count} reference images of split '{Options.Split}'.");
                    var image = _references[(int)indices[i]];
                    // An image met twice (a per-sentence source) is captioned once.
                    if (!seen.Add(image.Id))
                        continue;
                    int? label = predicted?[i];
                    captions.Add(new CaptionPrediction(image.Id, CaptionEncoder.Decode(decoded.Tokens[i]), image.Label, label,
                        label is { } p ? Retrieve(p) : null, image.Label is { } t ? Retrieve(t) : null, image.References));
                }
            }
        }
        if (captions.Count == 0)
            throw new InvalidOperationException($"The '{Options.Split}' batches held no image to caption.");

        var references = captions.ToDictionary(c => c.ImageId, c => c.References, StringComparer.Ordinal);
        var order = captions.Select(c => c.ImageId).ToArray();
        var scorer = new CaptionScorer(Options.Scoring);
        CaptionSystemResult Row(string name, CaptionSystemKind kind, Func<CaptionPrediction, string> candidate) =>
            new(name, kind, scorer.Score(references, captions.ToDictionary(c => c.ImageId, candidate, StringComparer.Ordinal), order));

        var description = Describe(_decoding);
        var systems = new List<CaptionSystemResult> { Row($"SpatialNet ({Options.CaptionTask}, {description})", CaptionSystemKind.Model, c => c.Generated) };
        double? accuracy = null;
        if (_classifier is not null)
        {
            systems.Add(Row($"{PredictedClassRetrievalName} ({Options.ClassificationTask})",
                CaptionSystemKind.RetrievalPredictedClass, c => c.RetrievedForPrediction!));
            if (captions.All(c => c.TrueLabel is not null))
                accuracy = captions.Count(c => c.TrueLabel == c.PredictedLabel) / (double)captions.Count;
        }
        if (captions.All(c => c.TrueLabel is not null))
            systems.Add(Row(TrueClassRetrievalName, CaptionSystemKind.RetrievalTrueClass, c => c.RetrievedForTrueLabel!));
        if (systems.Count == 1)
            throw new InvalidOperationException(
                $"Split '{Options.Split}': no retrieval baseline can be computed — the images have no true class and CaptionEvaluatorOptions.ClassificationTask is not set. Every captioning report shows the retrieval baseline.");
        systems.Add(Row(ImageBlindName, CaptionSystemKind.MostFrequentCaption, _ => Baselines.MostFrequentCaption));

        LastResult = new CaptionEvaluationResult(Options.Split, Options.CaptionTask, description, systems, captions, accuracy);
        return LastResult;
    }

    // A predicted class without training captions falls back to the image-blind caption.
    private string Retrieve(int label) =>
        Baselines.Retrieval.CaptionsByClass.TryGetValue(label, out var caption) ? caption : Baselines.MostFrequentCaption;

    private static void CheckSpecialIds(TextEncoder encoder, CaptionHead head)
    {
        if (head.Special.Pad != Vocabulary.PadId || head.Special.Bos != Vocabulary.BosId || head.Special.Eos != Vocabulary.EosId
            || head.VocabSize < encoder.Vocabulary.Count)
            throw new ArgumentException(
                $"Task '{head.TaskName}': the caption head (pad/bos/eos = {head.Special.Pad}/{head.Special.Bos}/{head.Special.Eos}, VocabSize = {head.VocabSize}) " +
                $"does not match the caption encoder (pad/bos/eos = {Vocabulary.PadId}/{Vocabulary.BosId}/{Vocabulary.EosId}, {encoder.Vocabulary.Count} tokens); " +
                "configure the head from the encoder (TextHeadConfiguration.ConfigureCaptionHead).", nameof(encoder));
    }
}

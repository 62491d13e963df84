using SpatialNet.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using SpatialNet.Training.Metrics.Meteor;

namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>How the caption scorer tokenises text for BLEU, ROUGE-L and CIDEr-D.</summary>
public enum CaptionTokenization
{
    /// <summary>
    /// <see cref="CaptionTokenizer.Simple"/>: lowercase, delete <c>.,!?;:</c>, split on whitespace.
    /// Lets users score raw text; not identical to COCO's PTB tokenizer on every input.
    /// </summary>
    Simple,

    /// <summary>Text is already tokenised (e.g. by the PTB tokenizer, as COCO does) and is scored as given.</summary>
    Pretokenized,
}

/// <summary>Which text METEOR sees.</summary>
public enum MeteorInputText
{
    /// <summary>The original text; Meteor's own <c>-norm</c> normalisation tokenises it (stock Meteor usage).</summary>
    Original,

    /// <summary>The same tokenised text the other metrics score (what COCO's evaluation script feeds Meteor).</summary>
    Tokenized,
}

/// <summary>Settings of <see cref="CaptionScorer"/>.</summary>
public sealed class CaptionScorerOptions
{
    /// <summary>Tokenisation for BLEU, ROUGE-L and CIDEr-D (default <see cref="CaptionTokenization.Simple"/>).</summary>
    public CaptionTokenization Tokenization { get; init; } = CaptionTokenization.Simple;

    /// <summary>Whether to compute METEOR (default true).</summary>
    public bool IncludeMeteor { get; init; } = true;

    /// <summary>METEOR settings; null for exact + stem with Meteor 1.5's defaults.</summary>
    public MeteorOptions? Meteor { get; init; }

    /// <summary>Which text METEOR scores (default <see cref="MeteorInputText.Original"/>).</summary>
    public MeteorInputText MeteorInput { get; init; } = MeteorInputText.Original;
}

/// <summary>Corpus and per-image caption scores under COCO's metric names.</summary>
public sealed class CaptionScores
{
    /// <summary>COCO's metric names, in its reporting order (METEOR only when computed).</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr"];

    /// <summary>Image ids in scoring order.</summary>
    [JsonPropertyName("image_order")]
    public required IReadOnlyList<string> ImageOrder { get; init; }

    /// <summary>Corpus scores by metric name.</summary>
    [JsonPropertyName("corpus")]
    public required IReadOnlyDictionary<string, double> Corpus { get; init; }

    /// <summary>Per-image scores: image id → metric name → score.</summary>
    [JsonPropertyName("per_image")]
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> PerImage { get; init; }

    /// <summary>How the scores were computed (tokenisation, METEOR modules and input).</summary>
    [JsonPropertyName("settings")]
    public required IReadOnlyDictionary<string, string> Settings { get; init; }

    /// <summary>Serialises the scores as indented JSON (numbers in round-trip precision).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Writes <see cref="ToJson"/> to a file.</summary>
    /// <param name="path">Output path.</param>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());
}

/// <summary>
/// One call that scores a captioning system's output with every caption metric: BLEU-1..4, ROUGE-L
/// and CIDEr-D exactly as the COCO caption evaluation code computes them, and METEOR 1.5 (exact + stem,
/// plus synonyms when WordNet data is given). The basis of <c>spatialnet metrics captions</c>.
/// </summary>
public sealed class CaptionScorer
{
    private readonly CaptionScorerOptions _options;
    private readonly MeteorScorer? _meteor;

    /// <summary>Creates a scorer.</summary>
    /// <param name="options">Settings; null for the defaults.</param>
    public CaptionScorer(CaptionScorerOptions? options = null)
    {
        _options = options ?? new CaptionScorerOptions();
        _meteor = _options.IncludeMeteor ? new MeteorScorer(_options.Meteor) : null;
    }

    /// <summary>Scores references (image id → captions) against candidates (image id → caption).</summary>
    /// <param name="references">Reference captions per image.</param>
    /// <param name="candidates">One candidate per image.</param>
    /// <param name="imageOrder">Optional image order (default: the references' order).</param>
    /// <returns>Corpus and per-image scores.</returns>
    public CaptionScores Score(
        IReadOnlyDictionary<string, IReadOnlyList<string>> references,
        IReadOnlyDictionary<string, string> candidates,
        IReadOnlyList<string>? imageOrder = null) =>
        Score(new CaptionSet(references, candidates, imageOrder));

    /// <summary>Scores a caption set.</summary>
    /// <param name="captions">The captions, as written (tokenised here according to the options).</param>
    /// <returns>Corpus and per-image scores.</returns>
    public CaptionScores Score(CaptionSet captions)
    {
        ArgumentNullException.ThrowIfNull(captions);
        var tokenized = _options.Tokenization == CaptionTokenization.Simple ? captions.Select(CaptionTokenizer.Simple) : captions;

        var bleu = new BleuScorer(4).Score(tokenized);
        var rouge = new RougeLScorer().Score(tokenized);
        var cider = new CiderDScorer().Score(tokenized);
        var meteor = _meteor?.Score((_options.MeteorInput == MeteorInputText.Original ? captions : tokenized).Pairs());

        var corpus = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int k = 0; k < 4; k++)
        {
            corpus[$"Bleu_{k + 1}"] = bleu.Corpus[k];
        }

        if (meteor is not null)
        {
            corpus["METEOR"] = meteor.Corpus;
        }

        corpus["ROUGE_L"] = rouge.Corpus;
        corpus["CIDEr"] = cider.Corpus;

        var perImage = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        for (int i = 0; i < captions.Count; i++)
        {
            var scores = new Dictionary<string, double>(StringComparer.Ordinal);
            for (int k = 0; k < 4; k++)
            {
                scores[$"Bleu_{k + 1}"] = bleu.PerImage[i][k];
            }

            if (meteor is not null)
            {
                scores["METEOR"] = meteor.PerImage[i];
            }

            scores["ROUGE_L"] = rouge.PerImage[i];
            scores["CIDEr"] = cider.PerImage[i];
            perImage[captions.ImageIds[i]] = scores;
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["tokenization"] = _options.Tokenization.ToString(),
            ["bleu_rouge_cider"] = "pycocoevalcap-exact (Bleu(4) closest, Rouge beta 1.2, CIDEr-D n=4 sigma=6)",
        };
        if (_meteor is not null)
        {
            settings["meteor"] = $"Meteor 1.5 modules {string.Join('+', _meteor.Options.Modules).ToLowerInvariant()}, normalization {_meteor.Options.Normalization}";
            settings["meteor_input"] = _options.MeteorInput.ToString();
        }

        return new CaptionScores { ImageOrder = captions.ImageIds, Corpus = corpus, PerImage = perImage, Settings = settings };
    }
}

using SpatialNet.IO;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Text;
using static TorchSharp.torch;

namespace SpatialNet.Training.Data;

/// <summary>An active RSVQA image.</summary>
/// <param name="Id">The image id (also its file name, <c>&lt;id&gt;.tif</c>).</param>
/// <param name="FilePath">Full path of the image file.</param>
/// <param name="OriginalName">The release's <c>original_name</c>, if present.</param>
public sealed record RsvqaImage(int Id, string FilePath, string? OriginalName);

/// <summary>An active RSVQA question with its answer.</summary>
/// <param name="Id">Question id.</param>
/// <param name="ImageId">Id of the image it asks about.</param>
/// <param name="Type">Question type.</param>
/// <param name="Text">The question as written in the file (may lack '?', may contain double spaces).</param>
/// <param name="Answer">The answer as written in the file.</param>
/// <param name="Count">For count questions, the number; otherwise null.</param>
/// <param name="AnswerLabel">The classifier label: the answer, or its bin for counts and areas (per <see cref="RsvqaCountEncoding"/>).</param>
/// <param name="AllowGeometric">False when the question mentions left, right, top or bottom (<see cref="VqaAugmentationRule"/>).</param>
public sealed record RsvqaQuestion(int Id, int ImageId, RsvqaQuestionType Type, string Text, string Answer, long? Count,
    string AnswerLabel, bool AllowGeometric)
{
    /// <summary>
    /// Text normalised for matching questions to each other (the question-only baseline): lower case,
    /// runs of white space collapsed, trailing '?' and spaces removed.
    /// </summary>
    public static string NormalizeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        foreach (var part in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(part.ToLowerInvariant());
        }
        return sb.ToString().TrimEnd('?', ' ');
    }

    /// <summary><see cref="NormalizeText"/> of <see cref="Text"/>.</summary>
    public string NormalizedText => NormalizeText(Text);
}

/// <summary>Options of <see cref="RsvqaDataset"/>.</summary>
public sealed record RsvqaOptions
{
    /// <summary>File layout (default <see cref="RsvqaVariant.LowResolution"/>).</summary>
    public RsvqaVariant Variant { get; init; } = RsvqaVariant.LowResolution;

    /// <summary>Overrides the variant's image folder (relative to the root, or absolute).</summary>
    public string? ImageFolder { get; init; }

    /// <summary>Image file extension (default ".tif").</summary>
    public string ImageExtension { get; init; } = ".tif";

    /// <summary>Decoded-image cache, shareable between splits; default: memory cache expecting 3 bands.</summary>
    public ImageCache? Cache { get; init; }

    /// <summary>Encodes question text into the "question" tensor; null leaves it out.</summary>
    public TextEncoder? QuestionEncoder { get; init; }

    /// <summary>Encodes <see cref="RsvqaQuestion.AnswerLabel"/> into the "answer" tensor; null leaves it out.</summary>
    public AnswerVocabulary? Answers { get; init; }

    /// <summary>How count answers become labels (default the baseline's bins).</summary>
    public RsvqaCountEncoding CountEncoding { get; init; } = RsvqaCountEncoding.Bins;

    /// <summary>Check at construction that every needed image file exists (default true).</summary>
    public bool VerifyImages { get; init; } = true;

    /// <summary>
    /// Allow an image of this split to be active in another split's image list (default false: an error
    /// naming both files; the releases keep their splits' images apart).
    /// </summary>
    public bool AllowImagesInSeveralSplits { get; init; }
}

/// <summary>
/// RSVQA LR or HR (Lobry et al., "RSVQA: Visual Question Answering for Remote Sensing Data", TGRS 2020)
/// from its release files: <c>{prefix}_split_{split}_{images,questions,answers}.json</c> plus
/// <c>{image folder}/&lt;id&gt;.tif</c>. Entries are indexed by id (array position is not the id in
/// subsets); inactive entries — possibly bare <c>{"id": N, "active": false}</c> — are skipped, as are
/// questions about inactive images. One sample per active question: "image" uint8 [C,H,W],
/// "question_type", "count" (the raw number; NaN unless a count question), "count_bin" (0–4; −100
/// unless a count question), "allow_geometric", "index", and, with the encoders set, "question" and
/// "answer".
/// </summary>
public sealed class RsvqaDataset : IDataset, ISampleMetadata
{
    private readonly RsvqaQuestion[] _questions;
    private readonly Dictionary<int, RsvqaImage> _images;

    /// <summary>Reads and checks one split.</summary>
    /// <param name="root">Folder holding the JSON files and the image folder.</param>
    /// <param name="split">"train", "val", "test" (HR also "test_phili").</param>
    /// <param name="options">Options; null for defaults.</param>
    /// <exception cref="DatasetFileNotFoundException">A JSON file or an image file is missing.</exception>
    /// <exception cref="DatasetFormatException">A file is malformed, a field is missing or invalid, a type is unknown, or the split has no active question.</exception>
    public RsvqaDataset(string root, string split, RsvqaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(split);
        Options = options ?? new RsvqaOptions();
        Root = root;
        Split = split;
        Cache = Options.Cache ?? new ImageCache(new ImageLoadOptions { ExpectedBands = 3 });
        ImageFolder = Path.Combine(root, Options.ImageFolder ?? Options.Variant.ImageFolder);
        Name = $"rsvqa-{Options.Variant.FilePrefix.ToLowerInvariant()}/{split}";

        var imagesFile = FilePath(root, Options.Variant, split, "images");
        var questionsFile = FilePath(root, Options.Variant, split, "questions");
        var answersFile = FilePath(root, Options.Variant, split, "answers");
        foreach (var file in new[] { imagesFile, questionsFile, answersFile })
            if (!File.Exists(file))
                throw new DatasetFileNotFoundException(file, null, $"RSVQA file for split '{split}' not found. {Options.Variant.DownloadHint}.");

        var (images, inactiveImages, imagePositions) = ReadImages(imagesFile);
        var answers = ReadAnswers(answersFile);
        _questions = ReadQuestions(questionsFile, answersFile, imagesFile, images, inactiveImages, answers);
        if (_questions.Length == 0)
            throw new DatasetFormatException(questionsFile, "questions", $"split '{split}' has no active question (about an active image).");

        var used = _questions.Select(q => q.ImageId).ToHashSet();
        _images = images.Where(kv => used.Contains(kv.Key)).ToDictionary();
        if (!Options.AllowImagesInSeveralSplits)
            CheckOtherSplits(split, imagesFile, imagePositions);
        if (Options.VerifyImages)
            foreach (var image in _images.Values.OrderBy(i => i.Id))
                if (!File.Exists(image.FilePath))
                    throw new DatasetFileNotFoundException(image.FilePath, $"images[{imagePositions[image.Id]}].id",
                        $"image file of image {image.Id} ({imagesFile}) not found in {ImageFolder}.");
    }

    /// <summary>The JSON file of a split: <c>{root}/{prefix}_split_{split}_{kind}.json</c> (kind: images, questions, answers).</summary>
    public static string FilePath(string root, RsvqaVariant variant, string split, string kind)
    {
        ArgumentNullException.ThrowIfNull(variant);
        return Path.Combine(root, $"{variant.FilePrefix}_split_{split}_{kind}.json");
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The dataset folder.</summary>
    public string Root { get; }

    /// <summary>The split read.</summary>
    public string Split { get; }

    /// <summary>The options used.</summary>
    public RsvqaOptions Options { get; }

    /// <summary>Folder of the image files.</summary>
    public string ImageFolder { get; }

    /// <summary>The decoded-image cache.</summary>
    public ImageCache Cache { get; }

    /// <summary>Active questions (with answers), in file order; sample i is question i.</summary>
    public IReadOnlyList<RsvqaQuestion> Questions => _questions;

    /// <summary>Active images that have at least one active question, by id.</summary>
    public IReadOnlyDictionary<int, RsvqaImage> Images => _images;

    /// <inheritdoc/>
    public int Count => _questions.Length;

    /// <summary>Builds an answer vocabulary from these questions' labels (use the training split).</summary>
    public AnswerVocabulary BuildAnswerVocabulary(int? maxSize = null) => AnswerVocabulary.Build(_questions.Select(q => q.AnswerLabel), maxSize);

    /// <summary>Builds a question encoder from these questions (use the training split); no &lt;bos&gt;/&lt;eos&gt;.</summary>
    public TextEncoder BuildQuestionEncoder(int maxLength = 32, WordTokenizer? tokenizer = null) =>
        TextEncoder.Build(_questions.Select(q => q.Text), tokenizer ?? new WordTokenizer(), maxLength);

    /// <summary>The 8-bit image of an image id (decoded once, then cached).</summary>
    public RasterImage LoadImage(int imageId) =>
        _images.TryGetValue(imageId, out var image) ? Cache.Load(image.FilePath)
            : throw new ArgumentOutOfRangeException(nameof(imageId), $"Image {imageId} is not an active image of {Name}.");

    /// <summary>Per-band statistics over this split's distinct images.</summary>
    public NormalizationStatistics ComputeNormalizationStatistics() =>
        NormalizationStatistics.Compute(_images.Keys.Order().Select(LoadImage));

    /// <summary>The question type (file spelling) of sample <paramref name="index"/>.</summary>
    public string GroupOf(int index) => _questions[index].Type.ToWireName();

    /// <summary>Token count of sample <paramref name="index"/>'s question (0 without a question encoder).</summary>
    public int LengthOf(int index)
    {
        if (Options.QuestionEncoder is not { } encoder) return 0;
        _lengths ??= _questions.Select(q => encoder.Encode(q.Text).Length).ToArray();
        return _lengths[index];
    }

    private int[]? _lengths;

    /// <inheritdoc/>
    public Sample GetSample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _questions.Length);
        var q = _questions[index];
        var sample = new Sample();
        try
        {
            sample.Set(SampleKeys.Image, Cache.LoadTensor(_images[q.ImageId].FilePath));
            sample.Set(SampleKeys.ImageId, tensor((long)q.ImageId));
            sample.Set(SampleKeys.QuestionType, tensor((long)q.Type));
            sample.Set(SampleKeys.Count, tensor(q.Count is { } c ? (float)c : float.NaN));
            sample.Set(SampleKeys.CountBin, tensor(q.Count is { } n ? (long)CountAnswerBins.ToBinIndex(n) : AnswerVocabulary.IgnoreIndex));
            sample.Set(SampleKeys.AllowGeometric, tensor(q.AllowGeometric));
            sample.Set(SampleKeys.Index, tensor((long)index));
            if (Options.QuestionEncoder is { } encoder) sample.Set(SampleKeys.Question, tensor(encoder.Encode(q.Text)));
            if (Options.Answers is { } answers) sample.Set(SampleKeys.Answer, tensor((long)answers.Encode(q.AnswerLabel)));
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The entries of one RSVQA JSON file's array (<c>images</c>, <c>answers</c> or <c>questions</c>) with
    /// position, field path, active flag (default true) and id. The releases keep inactive entries without
    /// an id, so those are skipped; an active entry without an id is a <see cref="DatasetFormatException"/>.
    /// </summary>
    private static IEnumerable<(int Index, string Field, JsonObject Entry, bool Active, int Id)> Entries(JsonArray entries, string file, string name)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            var field = $"{name}[{i}]";
            var entry = JsonFile.Object(entries[i], file, field);
            var isActive = JsonFile.BoolOrNull(entry, "active", file, field + ".active") ?? true;
            var id = JsonFile.IntOrNull(entry, "id", file, field + ".id");
            if (id is null)
            {
                if (!isActive) continue;
                throw new DatasetFormatException(file, field + ".id", "required integer is missing.");
            }
            yield return (i, field, entry, isActive, id.Value);
        }
    }

    /// <summary>One image, one split: this split's images against the active images of every other split's image list.</summary>
    private void CheckOtherSplits(string split, string imagesFile, Dictionary<int, int> positions)
    {
        var prefix = $"{Options.Variant.FilePrefix}_split_";
        const string suffix = "_images.json";
        foreach (var other in Directory.EnumerateFiles(Root, prefix + "*" + suffix).Order(StringComparer.Ordinal))
        {
            var otherSplit = Path.GetFileName(other)[prefix.Length..^suffix.Length];
            if (otherSplit == split)
                continue;
            var rule = new ImageSplits(false, $"{nameof(RsvqaOptions)}.{nameof(RsvqaOptions.AllowImagesInSeveralSplits)}");
            foreach (var image in _images.Values)
                rule.Add(image.FilePath, split, imagesFile, $"images[{positions[image.Id]}].id", $"image {image.Id}");
            var (active, _, otherPositions) = ReadImages(other);
            foreach (var image in active.Values.OrderBy(i => i.Id))
                rule.Add(image.FilePath, otherSplit, other, $"images[{otherPositions[image.Id]}].id", $"image {image.Id}");
        }
    }

    private (Dictionary<int, RsvqaImage> Active, HashSet<int> Inactive, Dictionary<int, int> Positions) ReadImages(string file)
    {
        var entries = JsonFile.Array(JsonFile.Object(JsonFile.Parse(file), file, "$"), "images", file, "images");
        var active = new Dictionary<int, RsvqaImage>();
        var inactive = new HashSet<int>();
        var positions = new Dictionary<int, int>();
        foreach (var (i, field, entry, isActive, id) in Entries(entries, file, "images"))
        {
            if (!positions.TryAdd(id, i))
                throw new DatasetFormatException(file, field + ".id", $"image id {id} also appears at images[{positions[id]}].");
            if (!isActive) { inactive.Add(id); continue; }
            var path = Path.Combine(ImageFolder, id.ToString(CultureInfo.InvariantCulture) + Options.ImageExtension);
            active[id] = new RsvqaImage(id, path, JsonFile.StringOrNull(entry, "original_name", file, field + ".original_name"));
        }
        return (active, inactive, positions);
    }

    private static Dictionary<int, (string? Answer, bool Active, int Position)> ReadAnswers(string file)
    {
        var entries = JsonFile.Array(JsonFile.Object(JsonFile.Parse(file), file, "$"), "answers", file, "answers");
        var answers = new Dictionary<int, (string?, bool, int)>();
        foreach (var (i, field, entry, isActive, id) in Entries(entries, file, "answers"))
        {
            if (answers.TryGetValue(id, out var seen))
                throw new DatasetFormatException(file, field + ".id", $"answer id {id} also appears at answers[{seen.Item3}].");
            var text = isActive ? JsonFile.String(entry, "answer", file, field + ".answer") : null;
            answers[id] = (text, isActive, i);
        }
        return answers;
    }

    private RsvqaQuestion[] ReadQuestions(string file, string answersFile, string imagesFile, Dictionary<int, RsvqaImage> images,
        HashSet<int> inactiveImages, Dictionary<int, (string? Answer, bool Active, int Position)> answers)
    {
        var entries = JsonFile.Array(JsonFile.Object(JsonFile.Parse(file), file, "$"), "questions", file, "questions");
        var result = new List<RsvqaQuestion>(entries.Count);
        var seen = new Dictionary<int, int>();
        foreach (var (i, field, entry, isActive, id) in Entries(entries, file, "questions"))
        {
            if (!seen.TryAdd(id, i))
                throw new DatasetFormatException(file, field + ".id", $"question id {id} also appears at questions[{seen[id]}].");
            if (!isActive) continue;

            var imageId = JsonFile.Int(entry, "img_id", file, field + ".img_id");
            if (!images.ContainsKey(imageId))
            {
                if (inactiveImages.Contains(imageId)) continue;
                throw new DatasetFormatException(file, field + ".img_id", $"image {imageId} is not in {imagesFile}.");
            }
            var type = RsvqaQuestionTypeNames.Parse(JsonFile.String(entry, "type", file, field + ".type"), file, field + ".type");
            var text = JsonFile.String(entry, "question", file, field + ".question");
            if (string.IsNullOrWhiteSpace(text)) throw new DatasetFormatException(file, field + ".question", "the question text is empty.");
            var answerIds = JsonFile.IntArray(entry, "answers_ids", file, field + ".answers_ids");
            string? answer = null;
            var answerField = field + ".answers_ids";
            foreach (var answerId in answerIds)
            {
                if (!answers.TryGetValue(answerId, out var a))
                    throw new DatasetFormatException(file, answerField, $"answer {answerId} is not in {answersFile}.");
                if (!a.Active) continue;
                answer = a.Answer;
                answerField = $"answers[{a.Position}].answer";
                break;
            }
            if (answer is null)
                throw new DatasetFormatException(file, field + ".answers_ids", $"question {id} has no active answer in {answersFile}.");
            var (count, label) = Label(type, answer, answersFile, answerField);
            result.Add(new RsvqaQuestion(id, imageId, type, text, answer, count, label, VqaAugmentationRule.AllowsGeometric(text)));
        }
        return result.ToArray();
    }

    private (long? Count, string Label) Label(RsvqaQuestionType type, string answer, string file, string field)
    {
        switch (type)
        {
            case RsvqaQuestionType.Count:
                if (!long.TryParse(answer.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    throw new DatasetFormatException(file, field, $"count answer '{answer}' is not a non-negative integer.");
                return (n, Options.CountEncoding == RsvqaCountEncoding.Bins ? CountAnswerBins.ToBin(n) : n.ToString(CultureInfo.InvariantCulture));
            case RsvqaQuestionType.Presence or RsvqaQuestionType.Comparison:
                if (answer is not ("yes" or "no"))
                    throw new DatasetFormatException(file, field, $"a {type.ToWireName()} answer must be 'yes' or 'no'; got '{answer}'.");
                return (null, answer);
            case RsvqaQuestionType.RuralUrban:
                if (answer is not ("rural" or "urban"))
                    throw new DatasetFormatException(file, field, $"a rural_urban answer must be 'rural' or 'urban'; got '{answer}'.");
                return (null, answer);
            default:
                return (null, Options.CountEncoding == RsvqaCountEncoding.Bins ? CountAnswerBins.AreaLabelOf(answer) ?? answer : answer);
        }
    }
}

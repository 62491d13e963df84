using System.Text.Json.Nodes;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Configuration;

/// <summary><c>rsvqa</c>: an RSVQA release (LR or HR): questions, answers and images, with its own splits.</summary>
internal sealed class RsvqaSourceKind() : DataSourceKind("rsvqa")
{
    public override bool KeepsGeometry => true;

    public override bool QuestionBatching => true;

    public override void Validate(DataSourceOptions config, string at, ConfigCheck check) =>
        check(config.Variant is "lr" or "hr", $"{at}:variant", config.Variant, "lr or hr");

    public override SourceContents Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var cache = new ImageCache(LoadOptions(config, index, imageSize, bands));
        var options = new RsvqaOptions
        {
            Variant = config.Variant == "hr" ? RsvqaVariant.HighResolution : RsvqaVariant.LowResolution,
            Cache = cache,
            AllowImagesInSeveralSplits = config.AllowImagesInSeveralSplits,
        };
        var probe = new RsvqaDataset(config.Path!, config.TrainSplit, options);
        var answers = probe.BuildAnswerVocabulary();
        var questions = probe.BuildQuestionEncoder();
        options = options with { Answers = answers, QuestionEncoder = questions };
        var train = new RsvqaDataset(config.Path!, config.TrainSplit, options);
        return new SourceContents(train,
            name => File.Exists(RsvqaDataset.FilePath(config.Path!, options.Variant, name, "questions")) ? new RsvqaDataset(config.Path!, name, options) : null)
        {
            Answers = answers,
            Questions = questions,
        };
    }

    public override string Origin(DataSourceOptions config, string split, ulong seed) => $"the {split} files of {config.Path} (the release's split)";

    public override void AddTo(JsonObject entry, SourceContents contents)
    {
        if (contents.Answers is { } answers)
            entry["answers"] = answers.ToJson();
        if (contents.Questions is { } questions)
            entry["question_encoder"] = questions.ToJson();
    }
}

using System.Text.Json;
using FluentAssertions;
using SpatialNet.Training.Metrics.Captioning;
using Xunit;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>The caption-scoring facade and its JSON input/output, against the public reference values.</summary>
public sealed class CaptionScorerTests : IDisposable
{
    private static readonly JsonElement Expected = MetricAssert.LoadFixture("public_expected.json");
    private static readonly JsonElement Meteor = MetricAssert.LoadFixture("public_meteor.json");
    private static readonly string CaptionsPath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "metrics", "public_captions.json");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("spatialnet-captions-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Raw_text_with_simple_tokenisation_reproduces_the_public_values()
    {
        // Public layout read straight from the fixture file: refs/cands keys, image_order.
        var set = CaptionJson.ReadCaptionSet(CaptionsPath, CaptionsPath);
        var scores = new CaptionScorer().Score(set);

        var coco = Expected.GetProperty("simple");
        var meteor = Meteor.GetProperty("module_sets").GetProperty("exact_stem");
        AssertAll(scores, coco, meteor.GetProperty("corpus").GetDouble(), meteor.GetProperty("per_image"), "raw+simple");
    }

    [Fact]
    public void Ptb_tokenised_text_reproduces_the_public_values_with_meteor_on_the_tokens()
    {
        var set = CaptionJson.ReadCaptionSet(CaptionsPath, CaptionsPath, "refs_ptb", "cands_ptb");
        var scores = new CaptionScorer(new CaptionScorerOptions
        {
            Tokenization = CaptionTokenization.Pretokenized,
            MeteorInput = MeteorInputText.Tokenized,
        }).Score(set);

        var meteor = Meteor.GetProperty("supplementary_pretokenized_inputs").GetProperty("ptb").GetProperty("module_sets").GetProperty("exact_stem");
        AssertAll(scores, Expected.GetProperty("ptb"), meteor.GetProperty("corpus").GetDouble(), meteor.GetProperty("per_image"), "ptb");
    }

    [Fact]
    public void Scores_serialise_to_json_with_coco_metric_names()
    {
        var set = CaptionJson.ReadCaptionSet(CaptionsPath, CaptionsPath);
        var scores = new CaptionScorer().Score(set);
        var path = Path.Combine(_dir.FullName, "scores.json");
        scores.Save(path);

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var corpus = doc.RootElement.GetProperty("corpus");
        corpus.EnumerateObject().Select(p => p.Name).Should().Equal(CaptionScores.MetricNames);
        corpus.GetProperty("CIDEr").GetDouble().Should().Be(scores.Corpus["CIDEr"]);
        doc.RootElement.GetProperty("per_image").GetProperty("pub_3").GetProperty("Bleu_4").GetDouble().Should().Be(scores.PerImage["pub_3"]["Bleu_4"]);
        doc.RootElement.GetProperty("image_order").GetArrayLength().Should().Be(5);
    }

    [Fact]
    public void Coco_annotation_and_result_layouts_are_read_with_numeric_image_ids()
    {
        var refs = Write("refs.json", """{"annotations": [{"image_id": 7, "caption": "a red car"}, {"image_id": 7, "caption": "a car"}, {"image_id": 3, "caption": "two trees"}]}""");
        var cands = Write("cands.json", """[{"image_id": 3, "caption": "two trees"}, {"image_id": 7, "caption": "a red car"}]""");
        var set = CaptionJson.ReadCaptionSet(refs, cands);
        set.ImageIds.Should().Equal("7", "3");
        set.ReferencesOf("7").Should().Equal("a red car", "a car");
        set.CandidateOf("3").Should().Be("two trees");
    }

    [Fact]
    public void Plain_object_layouts_are_read()
    {
        var refs = Write("refs.json", """{"b": ["x y"], "a": ["y z", "z"]}""");
        var cands = Write("cands.json", """{"a": "z", "b": "x y"}""");
        var set = CaptionJson.ReadCaptionSet(refs, cands);
        set.ImageIds.Should().Equal("b", "a");
    }

    [Fact]
    public void Bad_input_names_the_file_and_field()
    {
        var malformed = Write("bad.json", "{\"a\": [");
        var act1 = () => CaptionJson.ReadReferences(malformed);
        act1.Should().Throw<InvalidDataException>().WithMessage($"*{malformed}*malformed JSON*");

        var wrongType = Write("wrong.json", """{"a": "not a list"}""");
        var act2 = () => CaptionJson.ReadReferences(wrongType);
        act2.Should().Throw<InvalidDataException>().WithMessage("*field 'a' must be a list of caption strings*");

        var refs = Write("refs.json", """{"a": ["x"], "b": ["y"]}""");
        var cands = Write("cands.json", """{"a": "x"}""");
        var act3 = () => CaptionJson.ReadCaptionSet(refs, cands);
        act3.Should().Throw<InvalidDataException>().WithMessage("*Without a candidate: [b]*");

        var missing = Path.Combine(_dir.FullName, "missing.json");
        var act4 = () => CaptionJson.ReadCandidates(missing);
        act4.Should().Throw<FileNotFoundException>().WithMessage($"*{missing}*");
    }

    [Fact]
    public void Empty_candidate_scores_zero_on_every_metric()
    {
        // BLEU: the brevity penalty exp(1 - (reflen + 1e-9)/1e-15) underflows to 0; ROUGE-L: LCS 0;
        // CIDEr-D: an empty vector has norm 0, so every similarity stays 0; METEOR: precision 0/0 → score 0.
        var scores = new CaptionScorer().Score(
            new Dictionary<string, IReadOnlyList<string>> { ["a"] = ["a small house"], ["b"] = ["two green trees"] },
            new Dictionary<string, string> { ["a"] = "", ["b"] = "two trees" });
        foreach (var metric in CaptionScores.MetricNames)
        {
            scores.PerImage["a"][metric].Should().Be(0.0, metric);
        }
    }

    private string Write(string name, string json)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static void AssertAll(CaptionScores scores, JsonElement coco, double meteorCorpus, JsonElement meteorPerImage, string what)
    {
        foreach (var metric in new[] { "Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr" })
        {
            MetricAssert.Close(scores.Corpus[metric], coco.GetProperty("corpus").GetProperty(metric).GetDouble(), $"{what} corpus {metric}");
            foreach (var id in scores.ImageOrder)
            {
                MetricAssert.Close(scores.PerImage[id][metric], coco.GetProperty("per_image").GetProperty(id).GetProperty(metric).GetDouble(), $"{what} {id} {metric}");
            }
        }

        MetricAssert.Close(scores.Corpus["METEOR"], meteorCorpus, $"{what} corpus METEOR");
        foreach (var id in scores.ImageOrder)
        {
            MetricAssert.Close(scores.PerImage[id]["METEOR"], meteorPerImage.GetProperty(id).GetDouble(), $"{what} {id} METEOR");
        }
    }
}

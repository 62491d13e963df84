using System.Globalization;
using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Training.Data;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Metrics.Captioning;
using SpatialNet.Training.Transforms;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>The caption evaluator end to end on a tiny model: generation, detokenisation, scoring, retrieval baselines.</summary>
public sealed class CaptionEvaluatorTests(SyntheticMultimodalFixture data) : IClassFixture<SyntheticMultimodalFixture>
{
    // The most frequent training caption of each class, counted here with LINQ (first seen wins ties).
    private static Dictionary<int, string> MostFrequentByClass(UcmCaptionDataset train) =>
        train.Images.SelectMany(i => i.Sentences.Select(s => (i.ClassIndex, Text: s.Text(CaptionSource.Tokens))))
            .GroupBy(p => p.ClassIndex)
            .ToDictionary(g => g.Key, g => g.Select((p, order) => (p.Text, order)).GroupBy(p => p.Text)
                .OrderByDescending(c => c.Count()).ThenBy(c => c.Min(x => x.order)).First().Key);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Scores_are_the_caption_scorers_scores_of_the_decoded_strings_beside_the_retrieval_rows(int beamWidth)
    {
        using var model = data.CreateModel(seed: 4, withVqa: false);
        var train = data.Ucm("train");
        var test = data.Ucm("test");
        var decoding = new SequenceDecodingOptions { BeamWidth = beamWidth, MaxLength = 8 };
        var evaluator = CaptionEvaluator.ForUcmCaption(model, test, data.CaptionEncoder, CaptionBaselines.FromUcmCaption(train),
            new CaptionEvaluatorOptions { ClassificationTask = "land_use", Decoding = decoding, Split = "test" }, new ToFloat(), batchSize: 3);

        var result = evaluator.Run();

        // The same captions produced image by image, decoded by hand with the vocabulary.
        var head = (CaptionHead)model.Head("caption");
        var byClass = MostFrequentByClass(train);
        var ids = new List<string>();
        var generated = new Dictionary<string, string>();
        var retrieved = new Dictionary<string, string>();
        var oracle = new Dictionary<string, string>();
        var references = new Dictionary<string, IReadOnlyList<string>>();
        var correct = new Dictionary<string, bool>();
        model.eval();
        using (no_grad())
        {
            foreach (var image in test.Images)
            {
                using var scope = NewDisposeScope();
                var pixels = test.Cache.Load(image.FilePath).ToTensor().to(ScalarType.Float32).div(255).unsqueeze(0);
                var tokens = model.Encoder.ForwardTokens(pixels);
                var words = head.Generate(tokens, decoding).Tokens[0].Select(t => data.CaptionEncoder.Vocabulary.TokenOf((int)t));
                var id = image.ImgId.ToString(CultureInfo.InvariantCulture);
                int predicted = (int)model.Head("land_use").call(tokens).argmax(1).item<long>();
                ids.Add(id);
                generated[id] = string.Join(' ', words);
                retrieved[id] = byClass[predicted];
                oracle[id] = byClass[image.ClassIndex];
                correct[id] = predicted == image.ClassIndex;
                references[id] = image.Sentences.Select(s => s.Text(CaptionSource.Tokens)).ToList();
            }
        }

        result.Captions.Select(c => c.ImageId).Should().Equal(ids);
        result.Captions.Select(c => c.Generated).Should().Equal(ids.Select(i => generated[i]));
        result.Decoding.Should().Be(beamWidth == 1 ? "greedy" : "beam 2");
        result.Systems.Select(s => s.Kind).Should().Equal(CaptionSystemKind.Model, CaptionSystemKind.RetrievalPredictedClass,
            CaptionSystemKind.RetrievalTrueClass, CaptionSystemKind.MostFrequentCaption);

        var scorer = new CaptionScorer();
        result.Model.Scores.Corpus.Should().Equal(scorer.Score(references, generated, ids).Corpus);
        result.System(CaptionSystemKind.RetrievalPredictedClass)!.Scores.Corpus.Should().Equal(scorer.Score(references, retrieved, ids).Corpus);
        result.System(CaptionSystemKind.RetrievalTrueClass)!.Scores.Corpus.Should().Equal(scorer.Score(references, oracle, ids).Corpus);
        // The image-blind row: one caption for every image, the most frequent of the whole training split.
        var blind = train.Images.SelectMany(i => i.Sentences.Select(s => s.Text(CaptionSource.Tokens))).GroupBy(t => t)
            .OrderByDescending(g => g.Count()).First().Key;
        result.System(CaptionSystemKind.MostFrequentCaption)!.Scores.Corpus.Should()
            .Equal(scorer.Score(references, ids.ToDictionary(i => i, _ => blind), ids).Corpus);
        result.LandUseAccuracy.Should().Be(test.Images.Count(i => correct[i.ImgId.ToString(CultureInfo.InvariantCulture)]) / 5.0);
    }

    [Fact]
    public void Epoch_metrics_use_cores_names_for_the_models_row()
    {
        using var model = data.CreateModel(seed: 4, withLandUse: false, withVqa: false);
        var evaluator = CaptionEvaluator.ForUcmCaption(model, data.Ucm("val"), data.CaptionEncoder, CaptionBaselines.FromUcmCaption(data.Ucm("train")),
            new CaptionEvaluatorOptions { Decoding = new SequenceDecodingOptions { BeamWidth = 1, MaxLength = 6 }, Split = "val" }, new ToFloat());

        var result = evaluator.Run();

        // Without a land-use head the true-class retrieval row is still reported.
        result.Systems.Select(s => s.Kind).Should().Equal(CaptionSystemKind.Model, CaptionSystemKind.RetrievalTrueClass, CaptionSystemKind.MostFrequentCaption);
        result.LandUseAccuracy.Should().BeNull();
        var corpus = result.Model.Scores.Corpus;
        result.Metrics.Should().Equal(new Dictionary<string, double>
        {
            ["caption/bleu_1"] = corpus["Bleu_1"], ["caption/bleu_2"] = corpus["Bleu_2"], ["caption/bleu_3"] = corpus["Bleu_3"],
            ["caption/bleu_4"] = corpus["Bleu_4"], ["caption/meteor"] = corpus["METEOR"], ["caption/rouge_l"] = corpus["ROUGE_L"],
            ["caption/cider"] = corpus["CIDEr"],
        });
    }

    [Fact]
    public void Core_and_coco_metric_names_map_one_to_one_in_table_order()
    {
        string[] core = ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider"];
        string[] coco = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr"];
        CaptionMetricNames.All.Should().Equal(core);
        core.Select(CaptionMetricNames.ToCoco).Should().Equal(coco);
        coco.Select(CaptionMetricNames.ToCore).Should().Equal(core);
        coco.Should().Equal(CaptionScores.MetricNames);
        FluentActions.Invoking(() => CaptionMetricNames.ToCoco("bleu_5")).Should().Throw<ArgumentException>().WithMessage("*allowed: bleu_1, *");
    }

    [Fact]
    public void A_caption_head_that_does_not_match_the_encoder_is_rejected()
    {
        using var model = new SpatialNet.Models.MultiTaskModel(
            new SpatialNet.Modules.VisionTransformer(new SpatialNet.Modules.VisionTransformerOptions { ImageSize = 32, PatchSize = 8, EmbedDim = 16, Depth = 1, NumHeads = 2 }),
            [new CaptionHead("caption", new TokenLayout(16, 1), new CaptionHeadOptions { VocabSize = 5, MaxLength = 8, Depth = 1, NumHeads = 2 })]);

        FluentActions.Invoking(() => CaptionEvaluator.ForUcmCaption(model, data.Ucm("val"), data.CaptionEncoder, CaptionBaselines.FromUcmCaption(data.Ucm("train"))))
            .Should().Throw<ArgumentException>().WithMessage("*does not match the caption encoder*");
    }
}

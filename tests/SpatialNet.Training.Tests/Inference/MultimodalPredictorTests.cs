using SpatialNet.Training.Configuration;
using System.Text.Json.Nodes;
using FluentAssertions;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Tests.Multimodal;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Pipeline;
using Xunit;

namespace SpatialNet.Training.Tests.Inference;

/// <summary>Answer and Caption on a run with land-use, caption and VQA tasks over UCM-caption and RSVQA folders.</summary>
public sealed class MultimodalPredictorTests(SyntheticMultimodalFixture data) : IClassFixture<SyntheticMultimodalFixture>
{
    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRunner.Run(args);

    private TrainingRunResult Train(TempDirectory folder)
    {
        static string P(string path) => path.Replace("\\", "/", StringComparison.Ordinal);
        var config = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{P(folder.Combine("run"))}}",
              "threads": 1,
              "model": { "image_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [
                { "name": "land_use", "kind": "classification" },
                { "name": "caption", "kind": "caption", "head": { "depth": 1, "decoding": { "beam_width": 2, "max_length": 8 } } },
                { "name": "vqa", "kind": "vqa", "head": { "depth": 1 } }
              ],
              "loss": { "l2_lambda": 0.0 },
              "trainer": { "seed": 3, "learning_rate": 0.001, "epochs": 1, "early_stopping_patience": 0, "show_progress": false, "write_charts": false },
              "data": {
                "batch_size": 8,
                "sources": [
                  { "kind": "ucm-caption", "path": "{{P(data.UcmRoot)}}", "caption_sampling": "per_sentence", "caption_max_length": 24,
                    "targets": { "land_use": "label", "caption": "caption" } },
                  { "kind": "rsvqa", "path": "{{P(data.RsvqaRoot)}}", "targets": { "vqa": "answer" } }
                ],
                "flip": false,
                "rotate90": false
              }
            }
            """);
        return TrainingPipeline.Run(config);
    }

    [Fact]
    public void Answers_reproduce_the_vqa_overall_accuracy_and_captions_use_the_vocabulary()
    {
        using var folder = new TempDirectory();
        var run = Train(folder);
        using var predictor = Predictor.Open(run.OutputDirectory);

        // Independent reference: the RSVQA files themselves and the evaluator's overall accuracy.
        var questions = JsonNode.Parse(File.ReadAllText(Path.Combine(data.RsvqaRoot, "LR_split_val_questions.json")))!["questions"]!.AsArray();
        var answers = JsonNode.Parse(File.ReadAllText(Path.Combine(data.RsvqaRoot, "LR_split_val_answers.json")))!["answers"]!.AsArray()
            .ToDictionary(a => a!["question_id"]!.GetValue<int>(), a => a!["answer"]!.GetValue<string>());
        int correct = 0;
        foreach (var q in questions)
        {
            var image = predictor.LoadImage(Path.Combine(data.RsvqaRoot, "Images_LR", $"{q!["img_id"]!.GetValue<int>()}.tif"));
            var answer = predictor.Answer(image, q["question"]!.GetValue<string>());
            answer.Probabilities.Sum().Should().BeApproximately(1f, 1e-5f);
            answer.Probability.Should().Be(answer.Probabilities.Max());
            correct += answer.Answer == answers[q["id"]!.GetValue<int>()] ? 1 : 0;
        }
        ((double)correct / questions.Count).Should().BeApproximately(run.Report.Result.Metrics["vqa/overall_accuracy"], 1e-9);

        var vocabulary = data.CaptionEncoder.Vocabulary.Tokens.ToHashSet(StringComparer.Ordinal);
        var scene = predictor.LoadImage(Directory.EnumerateFiles(data.UcmRoot, "*.tif", SearchOption.AllDirectories).First());
        foreach (var beams in new int?[] { 1, 3, null })
        {
            var caption = predictor.Caption(scene, beams);
            caption.Split(' ', StringSplitOptions.RemoveEmptyEntries).Should().OnlyContain(w => vocabulary.Contains(w), $"beam width {beams}");
        }
        // The same through the command line.
        var imageFile = Path.Combine(data.RsvqaRoot, "Images_LR", $"{questions[0]!["img_id"]!.GetValue<int>()}.tif");
        var question = questions[0]!["question"]!.GetValue<string>();
        var expected = predictor.Answer(predictor.LoadImage(imageFile), question);
        var (code, stdout, stderr) = Cli("ask", "--run", run.OutputDirectory, "--image", imageFile, "--question", question, "--json");
        code.Should().Be(0, stderr);
        var asked = JsonNode.Parse(stdout)!;
        asked["answer"]!.GetValue<string>().Should().Be(expected.Answer);
        asked["probability"]!.GetValue<double>().Should().BeApproximately(expected.Probability, 1e-6);
        var ucmImage = Directory.EnumerateFiles(data.UcmRoot, "*.tif", SearchOption.AllDirectories).First();
        (code, stdout, stderr) = Cli("caption", "--run", run.OutputDirectory, "--image", ucmImage, "--beam", "1");
        code.Should().Be(0, stderr);
        stdout.Trim().Should().Be(predictor.Caption(predictor.LoadImage(ucmImage), 1));

        var noVqaTaskNamed = () => predictor.Answer(scene, "is there a road?", "land_use");
        noVqaTaskNamed.Should().Throw<InvalidOperationException>().WithMessage("*'land_use'*vqa*");
    }
}

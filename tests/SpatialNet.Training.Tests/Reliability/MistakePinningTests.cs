using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Batching;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Tests.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Reliability;

/// <summary>
/// Each test fails if one realistic one-line mistake is made in the code it names (docs/reliability.md,
/// "Tests that catch mistakes"); expected values are computed by hand or independently of the code.
/// </summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class MistakePinningTests
{
    [Fact]
    public void Validation_RunsWithTheModelInEvaluationMode_DropoutOff()
    {
        // Trainer.Evaluate: with dropout 0.5 left on, the model is in training mode and two passes over the same rows differ.
        var f = new TrainerFixture(initSeed: 2, dropout: 0.5);
        var options = TrainerFixture.Options();
        options.Epochs = 1;
        options.WarmupSteps = 0;
        var evaluator = new ModeRecorder(f);

        using (var trainer = new Trainer(f.Trainable, f.Source, options, evaluator))
            trainer.Fit();

        evaluator.Calls.Should().Be(1);
        evaluator.Training.Should().BeFalse("validation switches dropout off");
        evaluator.Repeatable.Should().BeTrue("without dropout two passes over the same rows agree");
    }

    [Fact]
    public void TheLoggedGradientNorm_IsTheNormOfTheGradients()
    {
        // Trainer.FlushLosses reads the norm from the slot after the loss terms; computed here independently on a copy.
        var f = new TrainerFixture(initSeed: 3);
        using var copy = f.Model.CloneWeights(TrainerFixture.Inputs, TrainerFixture.Hidden, TrainerFixture.Outputs);
        var pred = copy.call(f.X);
        var loss = nn.functional.mse_loss(pred, f.Y) + 0.1 * nn.functional.l1_loss(pred, f.Y);
        loss.backward();
        double expected = Math.Sqrt(copy.parameters().Sum(p => p.grad!.square().sum().item<float>()));

        var options = TrainerFixture.Options();
        options.Epochs = 1;
        options.WarmupSteps = 0;
        options.GradientClipNorm = 1e6;
        options.LossSyncInterval = 1;
        options.MonitorMetric = null;
        var oneBatch = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["x"] = f.X, ["y"] = f.Y }, TrainerFixture.TrainSamples, shuffle: false);
        double? logged;
        using (var trainer = new Trainer(f.Trainable, oneBatch, options))
            logged = trainer.Fit().History.Steps.Single().GradientNorm;

        logged.Should().NotBeNull();
        logged!.Value.Should().BeApproximately(expected, 1e-5 * expected);
    }

    [Fact]
    public void MacroF1_CountsAClassThatIsPredictedButAbsentFromTheLabels()
    {
        // As scikit-learn's f1_score(average="macro"): classes 0, 1, 2 (2 predicted once, never expected):
        // F1 = 2/3, 1, 0 → 5/9. Leaving class 2 out would give 5/6.
        var result = ClassificationMetrics.Compute([0, 0, 1], [0, 2, 1], ["a", "b", "c"]);

        result.MacroF1.Should().BeApproximately(5.0 / 9.0, 1e-12);
    }

    [Fact]
    public void AMultiLabelScoreAtTheThreshold_IsAPositiveDecision()
    {
        // MultiLabelMetrics: the decision is score ≥ threshold; 0.5 at threshold 0.5 is positive, 0.4999 is not.
        var result = MultiLabelMetrics.Compute([[1.0], [0.0]], [[0.5], [0.4999]], threshold: 0.5);

        result.MicroF1.Should().Be(1.0);
        result.Accuracy.Should().Be(1.0);
    }

    [Fact]
    public void ByteImages_AreResizedWithRounding_NotTruncation()
    {
        // ImageResampler.Resize(RasterImage): one row [0, 9] upsampled to 4 pixels with half-pixel centres
        // (source x = (j + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped) gives 0, 2.25, 6.75, 9 → rounded 0, 2, 7, 9.
        using var pixels = tensor(new byte[] { 0, 9 }).reshape(1, 1, 2);
        var image = RasterImage.FromTensor(pixels);

        var resized = ImageResampler.Resize(image, 1, 4);

        resized.Pixels8.Should().Equal(0, 2, 7, 9);
    }

    [Theory]
    [InlineData(0.5, 0.5, false)]
    [InlineData(0.2, 0.8, false)]
    [InlineData(0.5, 0.49, true)]
    public void ValAndTestFractionsSummingToOne_AreRefusedNamingTheKey(double val, double test, bool allowed)
    {
        // DataSourceOptions: the training split keeps 1 − val − test of the images; at a sum of 1 it is empty.
        var json = $$"""
            {
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [ { "name": "scene", "kind": "classification", "target": "label" } ],
              "data": { "sources": [ { "kind": "image-folder", "path": "images", "val_fraction": {{val}}, "test_fraction": {{test}} } ] }
            }
            """;

        var act = () => TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(json, "/cfg"), "cfg.json");

        if (allowed)
            act.Should().NotThrow();
        else
            act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain("data:sources:0:val_fraction");
    }

    // Survivors of the Stryker.NET run on Metrics (docs/reliability.md), killed here.

    [Fact]
    public void MultiLabelMetrics_MatchAHandComputedExample()
    {
        // 3 samples, 3 labels, threshold 0.5. Label 0: truth 1,0,1, decisions 1,1,0 → TP 1, FP 1, FN 1, F1 1/2, accuracy 1/3;
        // ranked 0.9 (+), 0.6 (−), 0.4 (+) → AP = 0.5·1 + 0.5·2/3 = 5/6. Label 1: truth 0,1,1, decisions 0,1,0 → TP 1, FN 1,
        // F1 2/3, accuracy 2/3; ranked 0.7 (+), 0.3 (+), 0.2 (−) → AP 1. Label 2: never positive, never decided → F1 and AP
        // undefined (NaN), left out of the means; accuracy 1. Micro-F1 = 2·2 / (2·2 + 1 + 2) = 4/7; accuracy 6/9.
        double[][] targets = [[1, 0, 0], [0, 1, 0], [1, 1, 0]];
        double[][] scores = [[0.9, 0.2, 0.1], [0.6, 0.7, 0.1], [0.4, 0.3, 0.1]];

        var r = MultiLabelMetrics.Compute(targets, scores);

        r.MicroF1.Should().BeApproximately(4.0 / 7.0, 1e-12);
        r.MacroF1.Should().BeApproximately((0.5 + 2.0 / 3.0) / 2, 1e-12);
        r.MeanAveragePrecision.Should().BeApproximately((5.0 / 6.0 + 1.0) / 2, 1e-12);
        r.Accuracy.Should().BeApproximately(6.0 / 9.0, 1e-12);
        r.PerLabelF1[0].Should().BeApproximately(0.5, 1e-12);
        r.PerLabelF1[1].Should().BeApproximately(2.0 / 3.0, 1e-12);
        r.PerLabelF1[2].Should().Be(double.NaN);
        r.PerLabelAveragePrecision[0].Should().BeApproximately(5.0 / 6.0, 1e-12);
        r.PerLabelAveragePrecision[1].Should().Be(1.0);
        r.PerLabelAveragePrecision[2].Should().Be(double.NaN);
        r.PerLabelAccuracy.Should().Equal([1.0 / 3.0, 2.0 / 3.0, 1.0], (a, b) => Math.Abs(a - b) < 1e-12);
        r.Samples.Should().Be(3);
    }

    [Fact]
    public void MultiLabelAveragePrecision_TakesTiedScoresTogether()
    {
        // One positive and one negative at the same score form one threshold: precision 1/2 at recall 1 → AP 1/2,
        // whichever order they are listed in (as scikit-learn's average_precision_score).
        MultiLabelMetrics.Compute([[1.0], [0.0]], [[0.5], [0.5]]).MeanAveragePrecision.Should().Be(0.5);
        MultiLabelMetrics.Compute([[0.0], [1.0]], [[0.5], [0.5]]).MeanAveragePrecision.Should().Be(0.5);
    }

    [Fact]
    public void ClassificationMetrics_PerClassAccuracyAndF1_MatchAHandComputedExample()
    {
        // Expected 0,0,1,1,2, predicted 0,1,1,1,0 over 4 classes (class 3 never occurs):
        // per-class recall 1/2, 1, 0, NaN; F1: class 0 TP 1 FP 1 FN 1 → 1/2, class 1 TP 2 FP 1 → 4/5, class 2 TP 0 FN 1 → 0, class 3 NaN.
        var r = ClassificationMetrics.Compute([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c", "d"]);

        r.Accuracy.Should().BeApproximately(3.0 / 5.0, 1e-12);
        r.PerClassAccuracy.Take(3).Should().Equal([0.5, 1.0, 0.0], (a, b) => Math.Abs(a - b) < 1e-12);
        r.PerClassAccuracy[3].Should().Be(double.NaN);
        r.PerClassF1.Take(3).Should().Equal([0.5, 0.8, 0.0], (a, b) => Math.Abs(a - b) < 1e-12);
        r.PerClassF1[3].Should().Be(double.NaN);
        r.MacroF1.Should().BeApproximately((0.5 + 0.8 + 0.0) / 3, 1e-12);
        FluentActions.Invoking(() => ClassificationMetrics.Compute([4], [0], ["a", "b", "c", "d"])).Should().Throw<ArgumentException>();
    }

    private sealed class ModeRecorder(TrainerFixture f) : IEvaluator
    {
        public string Split => "val";

        public int Calls { get; private set; }

        public bool Training { get; private set; } = true;

        public bool Repeatable { get; private set; }

        public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context)
        {
            Calls++;
            Training = f.Model.training;
            using var a = f.Model.call(f.ValX);
            using var b = f.Model.call(f.ValX);
            Repeatable = a.equal(b).all().item<bool>();
            return new Dictionary<string, double> { ["val_mse"] = nn.functional.mse_loss(a, f.ValY).item<float>() };
        }

        public void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null) =>
            throw new NotSupportedException("The MLP has no report.");
    }
}

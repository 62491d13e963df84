using System.Buffers.Binary;
using System.Text.Json;
using FluentAssertions;
using SkiaSharp;
using SpatialNet.Training.Engine;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

public class EarlyStoppingTests
{
    [Fact]
    public void MinMode_StopsAfterPatienceUpdatesWithoutImprovement()
    {
        var rule = new EarlyStopping("val_loss", MetricMode.Min, patience: 2);
        rule.Update(1, 1.0).Should().BeTrue();
        rule.Update(2, 0.8).Should().BeTrue();
        rule.Update(3, 0.85).Should().BeFalse();
        rule.ShouldStop.Should().BeFalse();
        rule.Update(4, 0.9).Should().BeFalse();
        rule.ShouldStop.Should().BeTrue();
        rule.BestEpoch.Should().Be(2);
        rule.BestValue.Should().Be(0.8);
    }

    [Fact]
    public void MaxMode_WithMinDelta_CountsOnlyLargeEnoughGains()
    {
        var rule = new EarlyStopping("val_acc", MetricMode.Max, patience: 2, minDelta: 0.01);
        rule.Update(1, 0.50).Should().BeTrue();
        rule.Update(2, 0.505).Should().BeFalse("a gain of 0.005 is below minDelta 0.01");
        rule.Update(3, 0.52).Should().BeTrue();
        rule.Update(4, double.NaN).Should().BeFalse();
        rule.Update(5, 0.40).Should().BeFalse();
        rule.ShouldStop.Should().BeTrue();
        rule.BestEpoch.Should().Be(3);
    }

    [Fact]
    public void State_RoundTrips()
    {
        var a = new EarlyStopping("m", MetricMode.Min, 3);
        a.Update(1, 2.0);
        a.Update(2, 3.0);
        var b = new EarlyStopping("m", MetricMode.Min, 3);
        b.ImportState(a.ExportState());
        b.ExportState().Should().Be(new EarlyStoppingState(2.0, 1, 1));
    }
}

public class MetricHistoryTests
{
    private static MetricHistory Sample() => new()
    {
        Steps =
        [
            new StepRecord { Step = 1, Epoch = 1, LearningRateFactor = 0.5, GradientNorm = 2.25, Losses = new() { ["loss"] = 1.5, ["cls"] = 1 } },
            new StepRecord { Step = 2, Epoch = 1, LearningRateFactor = 1, Losses = new() { ["loss"] = 0.75, ["count"] = 0.1 } },
        ],
        Epochs =
        [
            new EpochRecord { Epoch = 1, GlobalStep = 10, LearningRateFactor = 0.5, ElapsedSeconds = 1.25, Train = new() { ["loss"] = 0.75, ["cls"] = 0.5 }, Metrics = new() { ["val_acc"] = 0.875 } },
            new EpochRecord { Epoch = 2, GlobalStep = 20, LearningRateFactor = 1, ElapsedSeconds = 2.5, Train = new() { ["loss"] = 0.25, ["cls"] = 0.125, ["count"] = 2 }, Metrics = new() { ["val_acc"] = 0.9375, ["val_mae"] = 1.5 } },
        ],
    };

    [Fact]
    public void EpochCsv_HasTrainThenMetricColumnsInFirstSeenOrder_WithEmptyCellsForMissingValues()
    {
        Sample().ToEpochCsv().Should().Be(
            "epoch,global_step,lr_factor,elapsed_seconds,train_loss,train_cls,train_count,val_acc,val_mae\n" +
            "1,10,0.5,1.25,0.75,0.5,,0.875,\n" +
            "2,20,1,2.5,0.25,0.125,2,0.9375,1.5\n");
    }

    [Fact]
    public void StepCsv_ListsEveryStep()
    {
        Sample().ToStepCsv().Should().Be(
            "step,epoch,lr_factor,grad_norm,loss,cls,count\n" +
            "1,1,0.5,2.25,1.5,1,\n" +
            "2,1,1,,0.75,,0.1\n");
    }

    [Fact]
    public void Json_HasSnakeCaseFields_AndRoundTrips()
    {
        var json = Sample().ToJson();
        using var doc = JsonDocument.Parse(json);
        var epoch2 = doc.RootElement.GetProperty("epochs")[1];
        epoch2.GetProperty("global_step").GetInt64().Should().Be(20);
        epoch2.GetProperty("metrics").GetProperty("val_mae").GetDouble().Should().Be(1.5);
        epoch2.GetProperty("train").GetProperty("count").GetDouble().Should().Be(2);
        doc.RootElement.GetProperty("steps")[0].GetProperty("gradient_norm").GetDouble().Should().Be(2.25);
        doc.RootElement.GetProperty("steps")[1].TryGetProperty("gradient_norm", out _).Should().BeFalse();

        var back = MetricHistory.FromJson(json);
        back.ToEpochCsv().Should().Be(Sample().ToEpochCsv());
        back.ToStepCsv().Should().Be(Sample().ToStepCsv());
    }

    [Fact]
    public void MalformedJson_ThrowsInvalidData()
    {
        var act = () => MetricHistory.FromJson("{\"epochs\": [ {\"epoch\": \"x\"} ]}");
        act.Should().Throw<InvalidDataException>();
    }
}

public class TrainingChartsTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static MetricHistory History(bool weightsChange) => new()
    {
        Steps = [.. Enumerable.Range(1, 30).Select(i => new StepRecord { Step = i, Epoch = (i - 1) / 10 + 1, Losses = new() { ["loss"] = 1.0 / i, ["cls/loss"] = 0.5 / i } })],
        Epochs = [.. Enumerable.Range(1, 3).Select(e => new EpochRecord
        {
            Epoch = e,
            GlobalStep = 10 * e,
            Train = new() { ["loss"] = 1.0 / e, ["cls/loss"] = 0.5 / e, ["cls/weight"] = weightsChange ? 1.0 / e : 1.0 },
            Metrics = new() { ["loss"] = 1.1 / e, ["cls/accuracy"] = 0.5 + 0.1 * e, ["count/mae"] = 2.0 / e, ["caption/Bleu_4"] = 0.1 * e, ["caption/CIDEr"] = 0.4 * e },
        })],
    };

    [Fact]
    public void Figures_NameTheEvaluatedSplit_AndDrawTheLearningRateOfEveryStep()
    {
        var history = History(weightsChange: false);
        history = new MetricHistory
        {
            Steps = [.. history.Steps.Select(s => new StepRecord { Step = s.Step, Epoch = s.Epoch, LearningRateFactor = s.Step / 30.0, Losses = s.Losses })],
            Epochs = history.Epochs,
        };

        var figures = TrainingCharts.Figures(history, split: "val", learningRate: 0.002);

        figures.Select(f => f.FileName).Should().Equal("loss_curves.png", "learning_rate.png", "score_curves.png", "error_curves.png", "caption_curves.png");
        figures[0].Panels[0].Series.Select(s => s.Name).Should().Equal("per step", "smoothed", "epoch mean", "val");
        figures[2].Title.Should().Be("Scores on val (higher is better)");
        // base rate × the step's schedule factor: step 15 of 30 → 0.002 · 15/30.
        var rate = figures[1].Panels.Single().Series.Single();
        rate.Y.Should().HaveCount(30);
        rate.Y[14].Should().BeApproximately(0.001, 1e-15);
    }

    [Fact]
    public void Figures_SplitTheMetricsByFamily_AndDrawTaskWeightsOnlyWhenTheyChange()
    {
        var figures = TrainingCharts.Figures(History(weightsChange: false));
        figures.Select(f => f.FileName).Should().Equal("loss_curves.png", "score_curves.png", "error_curves.png", "caption_curves.png");
        var loss = figures[0];
        loss.Panels.Select(p => p.Title).Should().Equal("loss", "cls/loss");
        loss.Panels[0].Series.Select(s => s.Name).Should().Equal("per step", "smoothed", "epoch mean", "evaluation");
        // Steps sit at fractions of their epoch (step 5 of 10 per epoch: 0.5), epoch values at whole epochs.
        loss.Panels[0].Series[0].X[4].Should().Be(0.5);
        loss.Panels[0].Series[2].X.Should().Equal(1.0, 2.0, 3.0);
        figures[3].Panels.Single().Series.Select(s => s.Name).Should().Equal("Bleu_4", "CIDEr");

        TrainingCharts.Figures(History(weightsChange: true)).Select(f => f.FileName).Should().Contain("task_weights.png");
        TrainingCharts.FamilyOf("presence/mean_average_precision").Should().Be(TrainingCharts.MetricFamily.Score);
        TrainingCharts.FamilyOf("building_count/rmse").Should().Be(TrainingCharts.MetricFamily.Error);
        TrainingCharts.FamilyOf("answers/loss").Should().BeNull();
    }

    [Fact]
    public void WriteAll_WritesOnePngPerFigure_PanelsInAGridOfAtMostThreeColumns()
    {
        var dir = Path.Combine(Path.GetTempPath(), "spatialnet-chart-" + Guid.NewGuid().ToString("N"));
        try
        {
            var written = TrainingCharts.WriteAll(History(weightsChange: true), dir, panelWidth: 300, panelHeight: 200);
            written.Select(Path.GetFileName).Should().BeEquivalentTo("loss_curves.png", "task_weights.png", "score_curves.png", "error_curves.png", "caption_curves.png");
            var png = File.ReadAllBytes(Path.Combine(dir, "loss_curves.png"));
            png.AsSpan(0, 8).ToArray().Should().Equal(PngSignature);
            BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)).Should().Be(600u, "two panels side by side");
            BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20)).Should().Be(200u);
            // The smoothed step loss is drawn in the first palette colour (#1f77b4).
            using var bitmap = SKBitmap.Decode(png);
            bitmap.Pixels.Should().Contain(p => Math.Abs(p.Red - 0x1f) < 40 && Math.Abs(p.Green - 0x77) < 40 && Math.Abs(p.Blue - 0xb4) < 40);
            TrainingCharts.WriteAll(new MetricHistory(), Path.Combine(dir, "none")).Should().BeEmpty();
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Write_EqualCurvesStayVisible_TheFirstIsNotHiddenUnderTheSecond()
    {
        // Two task weights with the same values: the first (#1f77b4) must show beyond its legend swatch.
        double[] epochs = [1, 2, 3, 4, 5, 6], values = [1.0, 0.98, 0.97, 0.96, 0.955, 0.95];
        int Blue(params ChartSeries[] series)
        {
            var path = Path.Combine(Path.GetTempPath(), "spatialnet-chart-" + Guid.NewGuid().ToString("N") + ".png");
            try
            {
                TrainingCharts.Write(new ChartFigure("w.png", "weights", "weight", [new ChartPanel("task weights", series)]), path, 520, 380);
                using var bitmap = SKBitmap.Decode(path);
                return bitmap.Pixels.Count(p => Math.Abs(p.Red - 0x1f) < 40 && Math.Abs(p.Green - 0x77) < 40 && Math.Abs(p.Blue - 0xb4) < 40);
            }
            finally { File.Delete(path); }
        }

        int alone = Blue(new ChartSeries("a", epochs, values), new ChartSeries("b", epochs, values.Select(v => v - 0.5).ToArray()));
        int covered = Blue(new ChartSeries("a", epochs, values), new ChartSeries("b", epochs, values));
        covered.Should().BeGreaterThan(alone / 3, $"an equal second curve leaves the first visible ({covered} of {alone} pixels)");
    }
}

public class ProgressDisplayTests
{
    private static ProgressSnapshot Snapshot() =>
        new(2, 5, 3, 10, 13, 50, 3.7, TimeSpan.FromSeconds(10), new Dictionary<string, double> { ["loss"] = 0.5 });

    [Fact]
    public void Format_ShowsEpochStepRateEtaAndLosses()
    {
        ConsoleProgressDisplay.Format(Snapshot()).Should().Be("epoch 2/5  step 3/10 (26.0%)  3.70 step/s  ETA 00:10  loss 0.5");
    }

    [Fact]
    public void Disabled_WritesNothing_Enabled_RedrawsInPlace()
    {
        var off = new StringWriter();
        new ConsoleProgressDisplay(off, enabled: false).OnStep(Snapshot());
        off.ToString().Should().BeEmpty();

        var on = new StringWriter();
        var display = new ConsoleProgressDisplay(on, enabled: true);
        display.OnStep(Snapshot());
        display.OnEpochEnd(new EpochRecord { Epoch = 2, Train = new() { ["loss"] = 0.25 }, Metrics = new() { ["val_acc"] = 0.75 } }, 5);
        on.ToString().Should().StartWith("\repoch 2/5  step 3/10").And.Contain("epoch 2/5 done").And.Contain("train_loss 0.25").And.Contain("val_acc 0.75");
    }
}

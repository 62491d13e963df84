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

public class LineChartTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void RenderPng_StartsWithPngSignature_AndIhdrHasTheRequestedSize()
    {
        var panels = new[]
        {
            new ChartPanel("loss", "step", [new ChartSeries("train", [1, 2, 3, 4], [2.0, 1.0, 0.5, 0.25]), new ChartSeries("val", [1, 4], [2.5, 0.5])]),
            new ChartPanel("acc", "epoch", [new ChartSeries("acc", [1, 2], [0.5, double.NaN])]),
        };
        var png = LineChart.RenderPng(panels, 320, 200);

        png.AsSpan(0, 8).ToArray().Should().Equal(PngSignature);
        System.Text.Encoding.ASCII.GetString(png, 12, 4).Should().Be("IHDR");
        BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)).Should().Be(320u);
        BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20)).Should().Be(200u);

        // The first series is drawn in its palette colour (#1f77b4).
        using var bitmap = SKBitmap.Decode(png);
        var pixels = bitmap.Pixels;
        pixels.Should().Contain(p => Math.Abs(p.Red - 0x1f) < 40 && Math.Abs(p.Green - 0x77) < 40 && Math.Abs(p.Blue - 0xb4) < 40);
    }

    [Fact]
    public void TrainingCharts_WriteLossAndMetricCurves_OfAHistory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "spatialnet-chart-" + Guid.NewGuid().ToString("N"));
        try
        {
            var history = new MetricHistory
            {
                Steps = [.. Enumerable.Range(1, 30).Select(i => new StepRecord { Step = i, Epoch = (i - 1) / 10 + 1, Losses = new() { ["loss"] = 1.0 / i, ["cls"] = 0.5 / i } })],
                Epochs = [.. Enumerable.Range(1, 3).Select(e => new EpochRecord { Epoch = e, GlobalStep = 10 * e, Train = new() { ["loss"] = 1.0 / e }, Metrics = new() { ["val_acc"] = 0.5 + 0.1 * e } })],
            };
            TrainingCharts.LossPanels(history).Select(p => p.Title).Should().Equal("loss", "cls");
            TrainingCharts.WriteLossCurves(history, Path.Combine(dir, "loss.png"), 640, 480).Should().BeTrue();
            TrainingCharts.WriteMetricCurves(history, Path.Combine(dir, "metrics.png"), 400, 300).Should().BeTrue();
            var png = File.ReadAllBytes(Path.Combine(dir, "metrics.png"));
            png.AsSpan(0, 8).ToArray().Should().Equal(PngSignature);
            BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)).Should().Be(400u);
            BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20)).Should().Be(300u);
            TrainingCharts.WriteMetricCurves(new MetricHistory(), Path.Combine(dir, "none.png")).Should().BeFalse();
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, true);
        }
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

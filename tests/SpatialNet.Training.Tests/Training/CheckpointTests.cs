using SpatialNet.IO;
using System.Buffers.Binary;
using System.Text.Json;
using FluentAssertions;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

[Collection(TorchGlobalRngCollection.Name)]
public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spatialnet-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void AtomicWrite_ThatFails_LeavesNoPartialFile_AndKeepsThePreviousOne()
    {
        var path = Path.Combine(_dir, "last.safetensors");
        var fresh = () => AtomicFile.Write(path, s => { s.Write(new byte[1000]); throw new IOException("disk full"); });
        fresh.Should().Throw<IOException>().WithMessage("disk full");
        File.Exists(path).Should().BeFalse();
        Directory.GetFiles(_dir).Should().BeEmpty("the temporary file is removed");

        AtomicFile.WriteAllText(path, "old complete content");
        var overwrite = () => AtomicFile.Write(path, s => { s.Write("new partial"u8); throw new InvalidOperationException("crash"); });
        overwrite.Should().Throw<InvalidOperationException>();
        File.ReadAllText(path).Should().Be("old complete content");
        Directory.GetFiles(_dir).Should().ContainSingle();
    }

    [Fact]
    public void SavedCheckpoint_IsSafetensorsLayout_WithModelOptimizerAndRngEntries()
    {
        manual_seed(1);
        var model = nn.Linear(3, 2);
        using var buffers = new FlatParameterBuffers(model, ParameterGroups.DecayAndNoDecay(model));
        using var opt = new FlatAdamW(buffers);
        var path = Path.Combine(_dir, "c.safetensors");
        TrainingCheckpoint.Save(path, model, opt, new WarmupCosineSchedule(10), new TrainingPosition(1, 2, 12), extra: new Dictionary<string, string> { ["note"] = "hi" });

        // Parse the file by hand: u64 little-endian header length, JSON header, data.
        var bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        (headerLength % 8).Should().Be(0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var root = header.RootElement;
        root.GetProperty("model.weight").GetProperty("dtype").GetString().Should().Be("F32");
        root.GetProperty("model.weight").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(2, 3);
        root.GetProperty("optimizer.0.exp_avg").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(2L);   // bias: no_decay
        root.GetProperty("optimizer.1.exp_avg_sq").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(6L); // weight: decay
        root.GetProperty("rng.torch_cpu").GetProperty("dtype").GetString().Should().Be("U8");
        root.GetProperty("__metadata__").GetProperty("note").GetString().Should().Be("hi");
        var offsets = root.GetProperty("model.weight").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var stored = new float[6];
        Buffer.BlockCopy(bytes, (int)(8 + headerLength + offsets[0]), stored, 0, 24);
        stored.Should().Equal(model.weight!.data<float>().ToArray());
    }

    [Theory]
    [InlineData("model.pth")]
    [InlineData("model.safetensors")]
    public void A_model_whose_parameters_are_views_into_flat_buffers_saves_and_reloads_exactly(string file)
    {
        // After FlatParameterBuffers every parameter is a view at an offset into one buffer.
        manual_seed(6);
        var model = new TinyMlp(3, 5, 2);
        using var buffers = new FlatParameterBuffers(model, ParameterGroups.DecayAndNoDecay(model), PrecisionMode.Float32);
        var path = Path.Combine(_dir, file);

        SpatialNet.Weights.ModelWeights.Save(model, path);

        using var read = SpatialNet.Weights.StateDictFile.Read(path);
        foreach (var (name, p) in model.named_parameters())
            read[name].eq(p).all().item<bool>().Should().BeTrue(name);
    }

    [Fact]
    public void StateTensors_AreStoredUnderTheirPrefix_AndComeBackExactlyInTheirDtype_EmptyWhenAFileHasNone()
    {
        var model = new TinyMlp(3, 5, 2);
        using var buffers = new FlatParameterBuffers(model, ParameterGroups.DecayAndNoDecay(model), PrecisionMode.Float32);
        using var opt = new FlatAdamW(buffers);
        // 1/3 and 1e-300 have no float32 value: a round trip through float32 would change them.
        using var wide = tensor(new[] { 1.0 / 3, 1e-300, -2.5 }, ScalarType.Float64);
        using var half = tensor(new[] { 1.5f, -0.25f }).to(ScalarType.BFloat16);
        var path = Path.Combine(_dir, "state.safetensors");
        TrainingCheckpoint.Save(path, model, opt, null, new TrainingPosition(0, 0, 0),
            stateTensors: new Dictionary<string, Tensor> { ["tracked.cls"] = wide, ["buffer.count"] = half });
        using (var reader = SpatialNet.Weights.SafetensorsFile.Open(path))
            reader.Names.Should().Contain(["loss_composer_state.tracked.cls", "loss_composer_state.buffer.count"]);

        var seen = new Dictionary<string, (ScalarType Dtype, double[] Values)>();
        TrainingCheckpoint.Restore(path, model, opt, restoreState: state =>
        {
            foreach (var (k, t) in state)
                seen[k] = (t.dtype, t.to(ScalarType.Float64).data<double>().ToArray());
        });
        seen.Keys.Should().BeEquivalentTo(["tracked.cls", "buffer.count"]);
        seen["tracked.cls"].Dtype.Should().Be(ScalarType.Float64);
        seen["tracked.cls"].Values.Should().Equal(1.0 / 3, 1e-300, -2.5);
        seen["buffer.count"].Dtype.Should().Be(ScalarType.BFloat16);
        seen["buffer.count"].Values.Should().Equal(1.5, -0.25);

        var old = Path.Combine(_dir, "without.safetensors");
        TrainingCheckpoint.Save(old, model, opt, null, new TrainingPosition(0, 0, 0));
        int? count = null;
        TrainingCheckpoint.Restore(old, model, opt, restoreState: state => count = state.Count);
        count.Should().Be(0, "a checkpoint without tensor state hands over an empty dictionary, so tracking starts afresh");
    }

    [Fact]
    public void Restore_UnderAnotherPrecision_FailsNamingBothAndTheSetting()
    {
        // A run checkpointed in bf16 mixed precision (the CUDA default) resumed where Auto picks float32.
        var model = new TinyMlp(3, 5, 2);
        using var buffers = new FlatParameterBuffers(model, ParameterGroups.DecayAndNoDecay(model), PrecisionMode.BFloat16Mixed);
        using var opt = new FlatAdamW(buffers);
        var path = Path.Combine(_dir, "bf16.safetensors");
        TrainingCheckpoint.Save(path, model, opt, null, new TrainingPosition(0, 1, 1), null);

        var model2 = new TinyMlp(3, 5, 2);
        using var buffers2 = new FlatParameterBuffers(model2, ParameterGroups.DecayAndNoDecay(model2), PrecisionMode.Auto);
        using var opt2 = new FlatAdamW(buffers2);

        FluentActions.Invoking(() => TrainingCheckpoint.Restore(path, model2, opt2)).Should().Throw<CheckpointException>()
            .WithMessage($"*'{path}'*BFloat16Mixed*Float32*TrainerOptions.Precision*");
    }

    [Fact]
    public void Restore_IntoFreshObjects_ReproducesWeightsMomentsScheduleAndRandomStreams()
    {
        manual_seed(4);
        var model = new TinyMlp(3, 5, 2);
        using var buffers = new FlatParameterBuffers(model, ParameterGroups.DecayAndNoDecay(model), PrecisionMode.BFloat16Mixed);
        using var opt = new FlatAdamW(buffers);
        var schedule = new WarmupCosineSchedule(50, 5);
        using var x = randn(8, 3);
        for (int i = 0; i < 4; i++)
        {
            using var scope = NewDisposeScope();
            opt.ZeroGrad();
            model.call(x.to(ScalarType.BFloat16)).to(ScalarType.Float32).square().mean().backward();
            opt.LearningRateFactor = schedule.CurrentFactor;
            opt.Step();
            schedule.Advance();
        }
        var rng = new SeededRandom(99);
        rng.NextUInt64();
        var path = Path.Combine(_dir, "mp.safetensors");
        TrainingCheckpoint.Save(path, model, opt, schedule, new TrainingPosition(0, 4, 4), rng);
        var expectedTorch = rand(5).data<float>().ToArray();
        var expectedHost = rng.NextUInt64();

        manual_seed(123);
        var model2 = new TinyMlp(3, 5, 2);
        using var buffers2 = new FlatParameterBuffers(model2, ParameterGroups.DecayAndNoDecay(model2), PrecisionMode.BFloat16Mixed);
        using var opt2 = new FlatAdamW(buffers2);
        var schedule2 = new WarmupCosineSchedule(50, 5);
        var rng2 = new SeededRandom(1);
        var info = TrainingCheckpoint.Restore(path, model2, opt2, schedule2, rng2);

        info.Position.Should().Be(new TrainingPosition(0, 4, 4));
        info.Precision.Should().Be(PrecisionMode.BFloat16Mixed);
        opt2.StepCount.Should().Be(4);
        schedule2.Step.Should().Be(4);
        for (int b = 0; b < buffers.Buckets.Count; b++)
        {
            buffers2.Buckets[b].MasterWeights.allclose(buffers.Buckets[b].MasterWeights, 0, 0).Should().BeTrue();
            opt2.ExpAvg(b).allclose(opt.ExpAvg(b), 0, 0).Should().BeTrue();
            opt2.ExpAvgSq(b).allclose(opt.ExpAvgSq(b), 0, 0).Should().BeTrue();
        }
        var p1 = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in model2.named_parameters())
            p.to(ScalarType.Float32).allclose(p1[name].to(ScalarType.Float32), 0, 0).Should().BeTrue(name);
        rand(5).data<float>().ToArray().Should().Equal(expectedTorch);
        rng2.NextUInt64().Should().Be(expectedHost);
    }

    [Fact]
    public void Restore_IntoADifferentModel_NamesTheMismatchedKeys()
    {
        var model = nn.Linear(3, 2);
        using var buffers = new FlatParameterBuffers(model);
        using var opt = new FlatAdamW(buffers);
        var path = Path.Combine(_dir, "a.safetensors");
        TrainingCheckpoint.Save(path, model, opt, null, new TrainingPosition(0, 0, 0));

        var other = new TinyMlp(3, 4, 2);
        using var b2 = new FlatParameterBuffers(other);
        using var o2 = new FlatAdamW(b2);
        var act = () => TrainingCheckpoint.Restore(path, other, o2);
        act.Should().Throw<CheckpointException>().WithMessage("*a.safetensors*missing*'fc1.weight'*unexpected*'weight'*");
    }

    [Fact]
    public void Restore_OfTruncatedFile_ThrowsWeightFileErrorNamingTheFile()
    {
        var path = Path.Combine(_dir, "t.safetensors");
        Directory.CreateDirectory(_dir);
        File.WriteAllBytes(path, [16, 0, 0, 0, 0, 0, 0, 0, (byte)'{']);
        var model = nn.Linear(1, 1);
        using var buffers = new FlatParameterBuffers(model);
        using var opt = new FlatAdamW(buffers);
        var act = () => TrainingCheckpoint.Restore(path, model, opt);
        act.Should().Throw<WeightFileException>().WithMessage("*t.safetensors*");
    }
}

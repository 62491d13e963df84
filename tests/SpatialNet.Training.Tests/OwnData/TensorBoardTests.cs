using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary><c>trainer:tensorboard</c>: event files that TensorBoard reads, with the history's values.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class TensorBoardTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Event_files_hold_each_steps_losses_and_learning_rate_and_each_epochs_metrics_under_the_split()
    {
        var chips = _dir.Combine("chips");
        ChipFolder.Write(chips, ["a", "b"], [10, 10], 32, 3, 8, (k, i, c, y, x) => (k * 90 + c * 7 + i + x) % 256);
        var output = _dir.Combine("run");
        var config = SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. ImageFolderRunTests.Small(output).Where(k => !k.StartsWith("trainer:epochs", StringComparison.Ordinal)), "trainer:epochs=2",
             "trainer:tensorboard=true", $"data:sources:0:path={chips}", "data:sources:0:test_fraction=0"], environment: false);

        var run = TrainingPipeline.Run(config);

        var events = Directory.GetFiles(Path.Combine(output, "tensorboard"), "events.out.tfevents.*").SelectMany(ReadScalars).ToList();
        var history = run.Training.History;
        history.Steps.Should().HaveCount(4, "16 training chips in batches of 8, two epochs");
        foreach (var step in history.Steps)
        {
            events.Should().ContainSingle(e => e.Tag == "train/loss" && e.Step == step.Step).Which.Value.Should().Be((float)step.Losses["loss"]);
            events.Should().ContainSingle(e => e.Tag == "train/learning_rate" && e.Step == step.Step)
                .Which.Value.Should().BeApproximately((float)(step.LearningRateFactor * 0.001), 1e-9f, "configs/image-folder.json's learning rate × the schedule's factor");
        }
        foreach (var epoch in history.Epochs)
        {
            events.Should().ContainSingle(e => e.Tag == "val/land_use/accuracy" && e.Step == epoch.GlobalStep)
                .Which.Value.Should().Be((float)epoch.Metrics["land_use/accuracy"], "metrics carry the evaluated split's name");
            events.Should().ContainSingle(e => e.Tag == "epoch/train/loss" && e.Step == epoch.GlobalStep).Which.Value.Should().Be((float)epoch.Train["loss"]);
        }
    }

    // TFRecord framing (u64 length, u32 crc, data, u32 crc) around Event protobufs: step = field 2 (varint),
    // summary = field 5 { value = field 1 { tag = field 1 (string), simple_value = field 2 (float32) } }.
    private static IEnumerable<(string Tag, long Step, float Value)> ReadScalars(string file)
    {
        var bytes = File.ReadAllBytes(file);
        for (int at = 0; at + 12 <= bytes.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            var record = bytes.AsSpan(at + 12, length).ToArray();
            at += 12 + length + 4;
            long step = 0;
            var values = new List<(string, float)>();
            foreach (var (field, wire, data, number) in Fields(record))
            {
                if (field == 2 && wire == 0)
                    step = number;
                if (field == 5 && wire == 2)
                {
                    foreach (var (f, w, value, _) in Fields(data))
                    {
                        if (f != 1 || w != 2)
                            continue;
                        string tag = "";
                        float scalar = float.NaN;
                        foreach (var (vf, vw, vd, vn) in Fields(value))
                        {
                            if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(vd);
                            if (vf == 2 && vw == 5) scalar = BitConverter.Int32BitsToSingle((int)vn);
                        }
                        values.Add((tag, scalar));
                    }
                }
            }
            foreach (var (tag, value) in values)
                yield return (tag, step, value);
        }
    }

    private static List<(int Field, int Wire, byte[] Data, long Number)> Fields(byte[] message)
    {
        var result = new List<(int, int, byte[], long)>();
        int i = 0;
        long Varint()
        {
            long v = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = message[i++];
                v |= (long)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }
        while (i < message.Length)
        {
            var key = Varint();
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: result.Add((field, wire, [], Varint())); break;
                case 1: result.Add((field, wire, [], BinaryPrimitives.ReadInt64LittleEndian(message.AsSpan(i)))); i += 8; break;
                case 2: { var n = (int)Varint(); result.Add((field, wire, message.AsSpan(i, n).ToArray(), 0)); i += n; break; }
                case 5: result.Add((field, wire, [], BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(i)))); i += 4; break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
        return result;
    }
}

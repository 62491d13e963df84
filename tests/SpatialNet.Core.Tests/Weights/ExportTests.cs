using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Weights;

public sealed class ExportTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("spatialnet-export-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static VisionTransformerOptions Options() => new()
    {
        ImageSize = 16, PatchSize = 8, EmbedDim = 16, Depth = 1, NumHeads = 2, NumClasses = 3, QkNorm = true, LayerScaleInit = 1e-3,
    };

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("model.pth")]
    public void ExportedWeightsReloadExactly(string file)
    {
        var path = Path.Combine(dir, file);
        torch.manual_seed(1);
        using var source = new VisionTransformer(Options());
        torch.manual_seed(2);
        using var target = new VisionTransformer(Options());

        ModelWeights.Save(source, path);
        var report = ModelWeights.Load(target, path);

        report.IsExactMatch.Should().BeTrue(report.ToString());
        var expected = source.state_dict();
        foreach (var (key, value) in target.state_dict())
            value.allclose(expected[key], rtol: 0, atol: 0).Should().BeTrue(key);
        target.parameters().Should().OnlyContain(p => p.requires_grad);
    }

    [Fact]
    public void SafetensorsHeaderFollowsTheFormat()
    {
        var path = Path.Combine(dir, "header.safetensors");
        using var model = new VisionTransformer(Options());
        ModelWeights.Save(model, path);

        var bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        headerLength.Should().BeGreaterThan(0);
        (headerLength % 8).Should().Be(0, "data should start 8-byte aligned");
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' '));
        var root = header.RootElement;
        root.GetProperty("__metadata__").GetProperty("format").GetString().Should().Be("pt");

        var entries = root.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
        entries.Select(e => e.Name).Should().BeEquivalentTo(model.state_dict().Keys);
        // Offsets tile the data area exactly: 4 bytes per float32 element, no gaps, to the end of file.
        long end = 0;
        foreach (var e in entries.OrderBy(e => e.Value.GetProperty("data_offsets")[0].GetInt64()))
        {
            e.Value.GetProperty("dtype").GetString().Should().Be("F32");
            var shape = e.Value.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray();
            shape.Should().Equal(model.state_dict()[e.Name].shape);
            long begin = e.Value.GetProperty("data_offsets")[0].GetInt64();
            begin.Should().Be(end);
            end = e.Value.GetProperty("data_offsets")[1].GetInt64();
            (end - begin).Should().Be(4 * shape.Aggregate(1L, (a, b) => a * b));
        }
        (8 + headerLength + end).Should().Be(bytes.LongLength);
        // The bytes of one tensor are its little-endian float32 values.
        var gamma = entries.Single(e => e.Name == "blocks.0.ls1.gamma");
        long start = 8 + headerLength + gamma.Value.GetProperty("data_offsets")[0].GetInt64();
        BitConverter.ToSingle(bytes, (int)start).Should().Be(1e-3f);
    }

    [Fact]
    public void ExportingTheFixtureRoundTripsThroughBothFormats()
    {
        using var model = new VisionTransformer(TimmFixture.Options());
        ModelWeights.Load(model, TimmFixture.PyTorch);
        var st = Path.Combine(dir, "again.safetensors");
        var pth = Path.Combine(dir, "again.pth");
        ModelWeights.Save(model, st);
        ModelWeights.Save(model, pth);

        using var original = StateDictFile.Read(TimmFixture.Safetensors);
        using var fromSt = StateDictFile.Read(st);
        using var fromPth = StateDictFile.Read(pth);
        fromSt.Keys.Should().BeEquivalentTo(original.Keys);
        fromPth.Keys.Should().BeEquivalentTo(original.Keys);
        foreach (var key in original.Keys)
        {
            fromSt[key].allclose(original[key], rtol: 0, atol: 0).Should().BeTrue(key);
            fromPth[key].allclose(original[key], rtol: 0, atol: 0).Should().BeTrue(key);
        }
    }

    [Fact]
    public void UnknownExtensionNeedsAFormat()
    {
        using var model = new VisionTransformer(Options());
        var path = Path.Combine(dir, "weights.dat");

        model.Invoking(m => ModelWeights.Save(m, path)).Should().Throw<ArgumentException>().WithMessage("*'.dat'*.safetensors*");
        ModelWeights.Save(model, path, WeightFileFormat.Safetensors);
        StateDictFile.DetectFormat(path).Should().Be(WeightFileFormat.Safetensors);
    }
}

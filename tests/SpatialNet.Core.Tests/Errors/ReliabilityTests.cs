using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using FluentAssertions;
using SpatialNet.IO;
using SpatialNet.Modules;
using SpatialNet.Runtime;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Errors;

public sealed class ReliabilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("spatialnet-reliability-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name) => Path.Combine(_dir, name);

    // libtorch's message layout: the error, then "Exception raised from" and one "frame #N" line per C++ frame.
    private const string LibtorchMessage = "shape '[4, 4]' is invalid for input of size 6\nException raised from infer_size_impl at /pytorch/aten/src/ATen/InferSize.h:86 (most recent call first):\nframe #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9d (0x7f in libc10.so)\nframe #1: <unknown function> + 0x1234 (0x7f in libtorch_cpu.so)\n";

    [Fact]
    public void Boundary_KeepsLibtorchsMessage_WithoutCppFrames_UnlessVerbose()
    {
        var e = new ExternalException(LibtorchMessage);

        var translated = ErrorBoundary.Translate(e);

        translated.Should().BeOfType<NativeRuntimeException>();
        translated.Message.Should().Be("libtorch failed: shape '[4, 4]' is invalid for input of size 6");
        ErrorBoundary.Describe(e).Should().NotContain("frame #").And.NotContain("   at ");
        ErrorBoundary.Describe(e, verbose: true).Should().Contain("frame #0: c10::Error").And.Contain("frame #1");
    }

    [Fact]
    public void Boundary_TranslatesARealLibtorchError()
    {
        using var t = zeros(2, 3);
        var caught = FluentActions.Invoking(() => t.view(4, 4)).Should().Throw<Exception>().Which;

        var message = ErrorBoundary.Describe(caught);

        message.Should().StartWith("libtorch failed: ").And.Contain("[4, 4]").And.NotContain("frame #");
    }

    [Fact]
    public void Boundary_NamesOverflowAndInternalErrors_AndPassesSpatialNetErrorsThrough()
    {
        ErrorBoundary.Translate(new OverflowException("Arithmetic operation resulted in an overflow.")).Should().BeOfType<ResourceLimitException>()
            .Which.Message.Should().Contain("too large").And.Contain("overflow");
        ErrorBoundary.Translate(new ArgumentException("Cannot tell the weight format from the extension '.txt'.", "path")).Message
            .Should().Be("Cannot tell the weight format from the extension '.txt'.");
        ErrorBoundary.Translate(new IndexOutOfRangeException("Index was outside the bounds of the array."))
            .Message.Should().StartWith("Internal error (IndexOutOfRangeException: Index was outside");
        var own = new WeightFileException("a.pth", "Weight file 'a.pth' is bad.");
        ErrorBoundary.Translate(new AggregateException(own)).Should().BeSameAs(own);
        own.Should().BeAssignableTo<SpatialNetException>();
        new WeightLoadException("x", new LoadReport([], [], [], [], [])).Should().BeAssignableTo<SpatialNetException>();
        new NativeRuntimeException("x").Should().BeAssignableTo<SpatialNetException>();
    }

    [Fact]
    public void HugeEmbedDim_IsRefusedBeforeAllocation()
    {
        // 12 blocks of 12·D² float32 weights at D = 400000: about 12·12·1.6e11·4 B ≈ 84 TiB (hand count).
        var options = new VisionTransformerOptions { EmbedDim = 400_000, NumHeads = 8 };

        var act = () => new VisionTransformer(options);

        act.Should().Throw<ResourceLimitException>().WithMessage("*EmbedDim = 400000*parameters would need about 8* TiB*");
    }

    [Fact]
    public void BatchWhoseAttentionCannotFit_IsRefusedBeforeTheForwardPass()
    {
        using var model = new VisionTransformer(VisionTransformerOptions.Tiny());
        // 10⁸ images as a zero-stride view (nothing allocated): 10⁸ × 4 heads × 65² tokens × 4 B ≈ 6 TiB of scores.
        using var one = zeros(1, 3, 64, 64);
        using var batch = one.expand(100_000_000, 3, 64, 64);

        var act = () => model.ForwardFeatures(batch);

        act.Should().Throw<ResourceLimitException>().WithMessage("input batch [100000000, 3, 64, 64] (65 tokens, 4 heads)*attention scores*6.1 TiB*");
    }

    [Fact]
    public void ParameterEstimate_MatchesTheModelsCount()
    {
        // The estimate is checked against a count of the built model's parameters.
        var o = VisionTransformerOptions.Tiny();
        o.NumClasses = 7;
        o.LayerScaleInit = 0.1;
        using var model = new VisionTransformer(o);
        long count = model.parameters().Sum(p => p.numel());
        VisionTransformer.ParameterCount(o).Should().Be(count);
    }

    [Fact]
    public void HuggingFaceQkvOfDifferentShapes_IsATypedErrorNamingTheFile()
    {
        using var q = zeros(4, 4);
        using var k = zeros(4, 4);
        using var v = zeros(2, 4);
        using var sd = new StateDict
        {
            ["vit.embeddings.patch_embeddings.projection.weight"] = zeros(4, 3, 2, 2),
            ["vit.encoder.layer.0.attention.attention.query.weight"] = q.alias(),
            ["vit.encoder.layer.0.attention.attention.key.weight"] = k.alias(),
            ["vit.encoder.layer.0.attention.attention.value.weight"] = v.alias(),
        };
        var path = File("hf.safetensors");
        StateDictFile.Write(path, sd);
        using var model = new VisionTransformer(VisionTransformerOptions.Tiny());

        var act = () => ModelWeights.Load(model, path);

        act.Should().Throw<WeightFileException>().WithMessage($"*'{path}'*query [4, 4]*value [2, 4]*one shape*");
    }

    [Fact]
    public void StrictLoad_RefusesAFileThatMatchesNothing_AndAllowsNamedGroups()
    {
        var o = VisionTransformerOptions.Tiny();
        o.Depth = 1;
        using var model = new VisionTransformer(o);
        using var other = new StateDict { ["encoder.weight"] = zeros(3, 3) };

        var nothing = () => ModelWeights.Load(model, other);
        nothing.Should().Throw<WeightLoadException>().WithMessage("*loaded 0*missing*unexpected 1*  unexpected: encoder.weight*")
            .Which.Report.Missing.Should().Contain("pos_embed");

        // Everything but the block present, plus a classifier: allowed groups make it load.
        using var full = new StateDict();
        foreach (var (key, t) in model.state_dict())
            if (!key.StartsWith("blocks.", StringComparison.Ordinal)) full[key] = t.detach().clone();
        full["head.weight"] = zeros(10, 64);
        var strict = () => ModelWeights.Load(model, full);
        strict.Should().Throw<WeightLoadException>();
        var report = ModelWeights.Load(model, full, new WeightLoadOptions { AllowMissing = ["blocks.0."], AllowUnexpected = ["head."] });
        report.Missing.Should().OnlyContain(k => k.StartsWith("blocks.0.", StringComparison.Ordinal));
        report.Unexpected.Should().Equal("head.weight");

        // A file of another width: shape mismatches are never allowed.
        full["norm.weight"] = zeros(32);
        var wider = () => ModelWeights.Load(model, full, new WeightLoadOptions { AllowMissing = ["blocks.0.", "norm."], AllowUnexpected = ["head."] });
        wider.Should().Throw<WeightLoadException>().WithMessage("*shape mismatch: norm.weight: model [64], checkpoint [32]*");
    }

    private string Handmade(string name, string json, int dataBytes)
    {
        var path = File(name);
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void EveryReadPath_AppliesTheSafetensorsChecks()
    {
        // Overlapping byte ranges and a duplicate name: refused by StateDictFile.Read (model.pretrained,
        // weights inspect, evaluate) as by the checkpoint reader.
        var overlap = Handmade("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        var twice = Handmade("twice.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        var dtype = Handmade("dtype.safetensors", "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        using var model = nn.Linear(1, 2);
        foreach (var (path, what) in new[] { (overlap, "starts at data byte 0, expected 8"), (twice, "twice"), (dtype, "dtype 'F8_E4M3'") })
        {
            FluentActions.Invoking(() => StateDictFile.Read(path)).Should().Throw<WeightFileException>().WithMessage($"*'{path}'*{what}*");
            FluentActions.Invoking(() => ModelWeights.Load(model, path)).Should().Throw<WeightFileException>().WithMessage($"*'{path}'*{what}*");
        }
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,16]}}", 16, "tensor 'a': shape [-1, 4] has a negative dimension")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,16]}}", 16, "tensor 'a': shape [1099511627776, 1099511627776] F32 would be more than 2^63 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775808,9223372036854775816]}}", 8, "tensor 'a': data_offsets [9223372036854775808,9223372036854775816] holds a value that is not a 64-bit integer")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "tensor 'a': data_offsets [0, 16] do not fit shape [4] F32 in 8 data bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "tensor 'a': data_offsets [8, 0] do not fit shape [2] F32 in 8 data bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "the tensors cover 4 data bytes, the file holds 12")]
    public void MalformedSafetensors_NameTheFileTheTensorAndTheField(string header, int dataBytes, string what)
    {
        var path = Handmade("bad.safetensors", header, dataBytes);

        var act = () => StateDictFile.Read(path);

        act.Should().Throw<WeightFileException>().Which.Message.Should().Be($"'{path}' is not a valid safetensors file: {what}.");
    }

    [Fact]
    public void AHugeHeaderLength_IsReportedAsSuch_WithTheFile()
    {
        var path = Handmade("huge.safetensors", "{}", 0);
        var bytes = System.IO.File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 60);
        System.IO.File.WriteAllBytes(path, bytes);

        var act = () => StateDictFile.Read(path);

        act.Should().Throw<WeightFileException>().WithMessage($"'{path}' is not a valid safetensors file: header length 1152921504606846976 is not plausible for a file of 10 bytes.");
    }

    [Fact]
    public void AFlippedBitInWrittenWeights_IsReportedOnEveryReadPath()
    {
        var path = File("model.safetensors");
        using (var sd = new StateDict { ["weight"] = arange(6, dtype: ScalarType.Float32).reshape(3, 2), ["bias"] = zeros(3) })
            StateDictFile.Write(path, sd);
        using (var intact = StateDictFile.Read(path))
            intact.Should().ContainKey("weight");
        var bytes = System.IO.File.ReadAllBytes(path);
        bytes[^1] ^= 0x01;   // the last byte of 'weight' (written after 'bias'): still a valid float, no shape or offset check can notice
        System.IO.File.WriteAllBytes(path, bytes);
        using var model = nn.Linear(2, 3);

        FluentActions.Invoking(() => StateDictFile.Read(path)).Should().Throw<WeightFileException>()
            .WithMessage($"Weight file '{path}' is damaged: the SHA-256 of its tensor data is *, the file recorded *");
        FluentActions.Invoking(() => ModelWeights.Load(model, path)).Should().Throw<WeightFileException>().WithMessage("*is damaged*");
    }

    [Fact]
    public void TruncatedPth_NamesTheFile()
    {
        var path = File("w.pth");
        using (var sd = new StateDict { ["w"] = arange(1000, dtype: ScalarType.Float32) })
            StateDictFile.Write(path, sd);
        var bytes = System.IO.File.ReadAllBytes(path);
        System.IO.File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var act = () => StateDictFile.Read(path);

        act.Should().Throw<WeightFileException>().WithMessage($"Weight file '{path}'*")
            .Which.Message.Should().NotContain("IObjectConstructor");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PthWithPythonObjects_IsRefusedWithoutThePicklersAdvice(bool withArguments)
    {
        // A torch.save zip whose data.pkl builds an object of a class from another module (with or without constructor arguments).
        var path = File("obj.pth");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        {
            var entry = zip.CreateEntry("archive/data.pkl");
            using var s = entry.Open();
            // PROTO 2, GLOBAL 'evil\nThing', EMPTY_TUPLE or (MARK, BININT1 1, TUPLE), REDUCE, STOP
            byte[] args = withArguments ? [(byte)'(', (byte)'K', 1, (byte)'t'] : [(byte)')'];
            s.Write([0x80, 0x02, (byte)'c', .. "evil\nThing\n"u8, .. args, (byte)'R', (byte)'.']);
        }

        var act = () => StateDictFile.Read(path);

        act.Should().Throw<WeightFileException>().WithMessage($"Weight file '{path}'*")
            .Which.Message.Should().Contain("Python objects other than tensors").And.NotContain("IObjectConstructor");
    }

    [Fact]
    public void WeightWrites_AreAtomic_AndRemoveStaleTemporaries()
    {
        var path = File("model.safetensors");
        using (var sd = new StateDict { ["a"] = ones(3) })
            StateDictFile.Write(path, sd);
        var before = System.IO.File.ReadAllBytes(path);
        // A temporary left by a killed writer (a process id that cannot be running) and one of this process.
        var stale = File($"{AtomicFile.TempPrefix}model.safetensors.{int.MaxValue - 1}.0123");
        var live = File($"{AtomicFile.TempPrefix}model.safetensors.{Environment.ProcessId}.4567");
        System.IO.File.WriteAllText(stale, "half");
        System.IO.File.WriteAllText(live, "in progress");

        // A dtype safetensors cannot store fails mid-write: the old file stays whole.
        using (var bad = new StateDict { ["a"] = ones(3), ["z"] = ones(2, dtype: ScalarType.ComplexFloat32) })
            FluentActions.Invoking(() => StateDictFile.Write(path, bad)).Should().Throw<NotSupportedException>().WithMessage("*'z'*");

        System.IO.File.ReadAllBytes(path).Should().Equal(before);
        // A target that cannot be written (a folder of that name): the message names the target, not the temporary.
        Directory.CreateDirectory(File("folder.safetensors"));
        using (var sd = new StateDict { ["a"] = ones(3) })
            FluentActions.Invoking(() => StateDictFile.Write(File("folder.safetensors"), sd)).Should().Throw<IOException>()
                .WithMessage($"Cannot write '{File("folder.safetensors")}': *");
        Directory.Delete(File("folder.safetensors"));
        System.IO.File.Exists(stale).Should().BeFalse("a temporary of a process that is gone is removed");
        System.IO.File.Exists(live).Should().BeTrue("a running writer's temporary is kept");
        Directory.GetFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo("model.safetensors", Path.GetFileName(live));
    }
}

using System.Buffers.Binary;
using System.Text;
using FluentAssertions;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Weights;

public sealed class SafetensorsFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("spatialnet-safetensors-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Write_ProducesTheSafetensorsLayout_ByteForByte()
    {
        // Expected bytes written out from the format description: u64 LE header length, compact JSON
        // header (metadata first, tensors in the given order), spaces up to a multiple of 8, then the
        // raw little-endian data: F32 [2] = 1.0, -2.0 → 00 00 80 3F, 00 00 00 C0; I64 [1] = 5.
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"n\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[8,16]}}";
        int padded = (json.Length + 7) / 8 * 8;
        var expected = new List<byte>();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        expected.AddRange(length);
        expected.AddRange(Encoding.UTF8.GetBytes(json.PadRight(padded, ' ')));
        expected.AddRange([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]);
        expected.AddRange([0x05, 0, 0, 0, 0, 0, 0, 0]);

        using var stream = new MemoryStream();
        SafetensorsFile.Write(stream, [("w", tensor(new[] { 1f, -2f })), ("n", tensor(new long[] { 5 }).reshape(1, 1))],
            new Dictionary<string, string> { ["format"] = "pt" });

        stream.ToArray().Should().Equal(expected);
    }

    [Fact]
    public void WrittenFile_ReadsBack_EveryDtypeShapeAndMetadata()
    {
        var path = Path.Combine(dir, "all.safetensors");
        var tensors = new (string, Tensor)[]
        {
            ("f32", tensor(new[] { 0.5f, -1.25f, 3f }).reshape(3, 1)),
            ("bf16", tensor(new[] { 1.5f, -2f }).to(ScalarType.BFloat16)),
            ("f64", tensor(new[] { Math.PI })),
            ("i32", tensor(new[] { int.MinValue, 7 })),
            ("u8", tensor(new byte[] { 0, 255 })),
            ("flag", tensor(new[] { true, false, true })),
            ("empty", zeros(0, 4)),
            ("strided", arange(6, ScalarType.Float32).reshape(2, 3).t()),
        };
        using (var file = File.Create(path))
            SafetensorsFile.Write(file, tensors, new Dictionary<string, string> { ["note"] = "ünïcode ✓" });

        using var reader = SafetensorsFile.Open(path);
        reader.Metadata.Should().Equal(new Dictionary<string, string> { ["note"] = "ünïcode ✓" });
        reader.Names.Should().Equal(tensors.Select(t => t.Item1));
        foreach (var (name, t) in tensors)
        {
            reader.Shape(name).Should().Equal(t.shape, name);
            using var read = reader.Read(name);
            read.dtype.Should().Be(t.dtype, name);
            read.eq(t).all().item<bool>().Should().BeTrue(name);
        }
        reader.Contains("missing").Should().BeFalse();
        FluentActions.Invoking(() => reader.Read("missing")).Should().Throw<WeightFileException>().WithMessage($"*'{path}'*'missing'*");
    }

    [Fact]
    public void Write_RejectsDuplicateNamesAndUnsupportedDtypes_NamingTheTensor()
    {
        using var stream = new MemoryStream();
        FluentActions.Invoking(() => SafetensorsFile.Write(stream, [("a", zeros(1)), ("a", zeros(1))]))
            .Should().Throw<ArgumentException>().WithMessage("*'a'*");
        FluentActions.Invoking(() => SafetensorsFile.Write(stream, [("z", zeros(2, ScalarType.ComplexFloat32))]))
            .Should().Throw<NotSupportedException>().WithMessage("*'z'*");
    }

    [Fact]
    public void Open_RejectsDamagedFiles_NamingTheFileAndTheProblem()
    {
        var good = Path.Combine(dir, "good.safetensors");
        using (var file = File.Create(good))
            SafetensorsFile.Write(file, [("w", ones(4))]);
        var bytes = File.ReadAllBytes(good);

        var truncated = Path.Combine(dir, "truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..^4]);   // data shorter than the header's offsets
        var shortFile = Path.Combine(dir, "short.safetensors");
        File.WriteAllBytes(shortFile, bytes[..5]);
        var hugeHeader = Path.Combine(dir, "huge.safetensors");
        var huge = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        File.WriteAllBytes(hugeHeader, huge);
        var notJson = Path.Combine(dir, "notjson.safetensors");
        var garbled = (byte[])bytes.Clone();
        garbled[8] = (byte)'x';
        File.WriteAllBytes(notJson, garbled);

        foreach (var (path, what) in new[] { (truncated, "data_offsets"), (shortFile, "shorter"), (hugeHeader, "header length"), (notJson, "malformed") })
        {
            FluentActions.Invoking(() => SafetensorsFile.Open(path)).Should().Throw<WeightFileException>()
                .WithMessage($"*'{path}'*not a valid safetensors file*{what}*");
        }
    }

    private string Handmade(string name, string json, int dataBytes)
    {
        // A file built from a literal header, as another writer might produce it.
        var path = Path.Combine(dir, name);
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Open_RejectsHeadersTheReferenceReaderRejects()
    {
        var cases = new[]
        {
            (Handmade("negative.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,-2],\"data_offsets\":[0,8]}}", 8), "negative dimension"),
            (Handmade("twice.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "twice"),
            (Handmade("gap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12), "starts at data byte 8, expected 4"),
            (Handmade("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "starts at data byte 4, expected 8"),
            (Handmade("tail.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12), "cover 4 data bytes, the file holds 12"),
        };
        foreach (var (path, what) in cases)
        {
            FluentActions.Invoking(() => SafetensorsFile.Open(path)).Should().Throw<WeightFileException>()
                .WithMessage($"*'{path}'*{what}*");
        }

        // The same layout without the fault opens, also when the header lists tensors in another order
        // than their data (the Rust writer orders data by alignment, then name).
        using var ok = SafetensorsFile.Open(Handmade("fine.safetensors", "{\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8));
        ok.Names.Should().Equal("c", "a", "b");
        // A size that overflows 64 bits is an error naming the file, not a crash.
        var overflow = Handmade("overflow.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0);
        FluentActions.Invoking(() => SafetensorsFile.Open(overflow)).Should().Throw<WeightFileException>().WithMessage($"*'{overflow}'*");
    }
}

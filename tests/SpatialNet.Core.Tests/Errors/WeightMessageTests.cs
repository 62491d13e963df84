using System.IO.Compression;
using FluentAssertions;
using SpatialNet.Weights;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Errors;

public sealed class WeightMessageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("spatialnet-wmsg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A torch.save file whose only tensor's storage offset (0 in the pickle, BININT1 after the persistent id) is set to 200, past its 4-element storage.
    internal static string PthWithStorageOffsetOutOfBounds(string path)
    {
        using (var sd = new StateDict { ["w"] = arange(4, dtype: ScalarType.Float32) })
            StateDictFile.Write(path, sd);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
        byte[] pickle;
        using (var s = entry.Open())
        using (var m = new MemoryStream())
        {
            s.CopyTo(m);
            pickle = m.ToArray();
        }
        int at = pickle.AsSpan().IndexOf("QK\0"u8);
        at.Should().BePositive("the pickle holds BINPERSID followed by the storage offset 0");
        pickle[at + 2] = 200;
        var name = entry.FullName;
        entry.Delete();
        using (var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open())
            s.Write(pickle);
        return path;
    }

    [Fact]
    public void APthWithAnOutOfBoundsStorageOffset_IsRefusedWithoutNativeFrames()
    {
        var path = PthWithStorageOffsetOutOfBounds(Path.Combine(_dir, "w.pth"));

        var act = () => StateDictFile.Read(path).Dispose();

        var message = act.Should().Throw<WeightFileException>().WithMessage($"Weight file '{path}'*").Which.Message;
        message.Should().NotContain("frame #").And.NotContain("Exception raised from");
        ErrorBoundary.Describe(act.Should().Throw<WeightFileException>().Which).Should().NotContain("frame #");
    }
}

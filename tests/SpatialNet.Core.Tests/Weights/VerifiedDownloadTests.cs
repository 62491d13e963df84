using FluentAssertions;
using SpatialNet.Weights;
using Xunit;

namespace SpatialNet.Core.Tests.Weights;

public sealed class VerifiedDownloadTests : IDisposable
{
    // FIPS 180-2, appendix B.1: SHA-256("abc").
    private const string AbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    private readonly string _dir = Directory.CreateTempSubdirectory("spatialnet-sha-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheFileOfThePublishedHash_Passes_InEitherCase()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        File.WriteAllText(path, "abc");

        StateDictFile.VerifySha256(path, AbcSha256);
        StateDictFile.VerifySha256(path, AbcSha256.ToUpperInvariant());
    }

    [Fact]
    public void ACorruptDownload_IsRefused_NamingTheFileAndBothHashes()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        File.WriteAllText(path, "abd");

        var act = () => StateDictFile.VerifySha256(path, AbcSha256);

        act.Should().Throw<WeightFileException>().Which.Message.Should().Contain(path).And.Contain($"expected {AbcSha256}")
            .And.MatchRegex("its SHA-256 is [0-9a-f]{64}");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aZ")]
    public void AHashThatIsNoSha256_IsAnArgumentError(string hash)
    {
        StateDictFile.IsSha256(hash).Should().BeFalse();
        FluentActions.Invoking(() => StateDictFile.VerifySha256(Path.Combine(_dir, "x"), hash)).Should().Throw<ArgumentException>();
    }
}

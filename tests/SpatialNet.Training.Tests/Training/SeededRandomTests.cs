using FluentAssertions;
using SpatialNet.Training.Randomness;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

public class SeededRandomTests
{
    [Fact]
    public void Xoshiro256StarStar_FromState1234_MatchesPublishedReferenceOutputs()
    {
        // Reference outputs of xoshiro256** from state {1, 2, 3, 4}, as in the rand_xoshiro crate's
        // test vectors (first value by hand: rotl(2·5, 7)·9 = 1280·9 = 11520).
        var rng = SeededRandom.FromState([1UL, 2UL, 3UL, 4UL]);
        var outputs = Enumerable.Range(0, 6).Select(_ => rng.NextUInt64()).ToArray();
        outputs.Should().Equal(11520UL, 0UL, 1509978240UL, 1215971899390074240UL, 1216172134540287360UL, 607988272756665600UL);
    }

    [Fact]
    public void SplitMix64_FromSeed1234567_MatchesReferenceImplementationOutputs()
    {
        // First outputs of Vigna's splitmix64.c seeded with 1234567.
        ulong state = 1234567;
        SeededRandom.SplitMix64(ref state).Should().Be(6457827717110365317UL);
        SeededRandom.SplitMix64(ref state).Should().Be(3203168211198807973UL);
        SeededRandom.SplitMix64(ref state).Should().Be(9817491932198370423UL);
    }

    [Fact]
    public void ExportedState_ContinuesTheSameSequence()
    {
        var a = new SeededRandom(42);
        for (int i = 0; i < 17; i++)
            a.NextUInt64();
        var b = SeededRandom.FromState(a.GetState());
        Enumerable.Range(0, 50).Select(_ => b.NextDouble()).Should().Equal(Enumerable.Range(0, 50).Select(_ => a.NextDouble()));
    }

    [Fact]
    public void Permutation_ContainsEveryIndexOnce_AndNextIntStaysInRange()
    {
        var rng = new SeededRandom(5);
        rng.Permutation(100).Should().BeEquivalentTo(Enumerable.Range(0, 100));
        Enumerable.Range(0, 1000).Select(_ => rng.NextInt(3, 7)).Should().OnlyContain(v => v >= 3 && v < 7).And.Contain([3, 4, 5, 6]);
    }

    [Fact]
    public void DeriveSeed_DiffersPerStream_AndIsDeterministic()
    {
        SeededRandom.DeriveSeed(9, 0).Should().Be(SeededRandom.DeriveSeed(9, 0));
        SeededRandom.DeriveSeed(9, 0).Should().NotBe(SeededRandom.DeriveSeed(9, 1));
        SeededRandom.DeriveSeed(9, 1).Should().NotBe(SeededRandom.DeriveSeed(10, 1));
    }

    [Fact]
    public void AllZeroState_IsRejected()
    {
        var act = () => SeededRandom.FromState([0UL, 0UL, 0UL, 0UL]);
        act.Should().Throw<ArgumentException>();
    }
}

using SpatialNet.Training.Evaluation;
using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Evaluation;

public class CaptionRetrievalTests
{
    private static readonly (int, string)[] Training =
    [
        (0, "There are many buildings ."),
        (0, "Many cars are parked ."),
        (0, "there are  many buildings ."),   // same caption as the first up to case and spacing
        (0, "Many cars are parked ."),
        (0, "There are many buildings ."),   // buildings: 3, cars: 2
        (1, "A river runs through ."),
        (1, "Green trees line the river ."),   // 1 : 1 tie
        (2, "zebra crossing ."),
        (2, "a beach ."),
    ];

    [Fact]
    public void PicksTheMostFrequentTrainingCaptionOfThePredictedClass()
    {
        var retrieval = new CaptionRetrieval(Training);

        retrieval.CaptionFor(0).Should().Be("There are many buildings .");
        retrieval.CaptionsFor([0, 0, 1]).Should().Equal("There are many buildings .", "There are many buildings .", "A river runs through .");
        retrieval.Classes.Should().BeEquivalentTo([0, 1, 2]);
    }

    [Fact]
    public void TiesAreBrokenDeterministically()
    {
        var firstSeen = new CaptionRetrieval(Training);
        var ordinal = new CaptionRetrieval(Training, CaptionTieBreak.Ordinal);
        var reversed = new CaptionRetrieval(Training.Reverse(), CaptionTieBreak.Ordinal);

        firstSeen.CaptionFor(1).Should().Be("A river runs through .");
        firstSeen.CaptionFor(2).Should().Be("zebra crossing .");
        // Ordinal order of the normalised text ("a beach ." < "zebra crossing ."), whatever the data order.
        ordinal.CaptionFor(2).Should().Be("a beach .");
        reversed.CaptionFor(2).Should().Be("a beach .");
        reversed.CaptionFor(1).Should().Be(ordinal.CaptionFor(1));
    }

    [Fact]
    public void CountsCaptionsByNormalisedText()
    {
        CaptionRetrieval.Normalize("  There  are\tmany BUILDINGS . ").Should().Be("there are many buildings .");
        // Without the last "There are many buildings .": by normalised text buildings (2) ties cars (2) and
        // the first seen wins (buildings, returned in its first spelling); counted exactly, cars (2) beat
        // each spelling of buildings (1 + 1).
        var withoutLast = Training.Where((_, i) => i != 4).ToArray();
        new CaptionRetrieval(withoutLast).CaptionFor(0).Should().Be("There are many buildings .");
        new CaptionRetrieval(withoutLast, normalize: s => s).CaptionFor(0).Should().Be("Many cars are parked .");
    }

    [Fact]
    public void UnknownClassesAreNamed()
    {
        var retrieval = new CaptionRetrieval(Training);
        FluentActions.Invoking(() => retrieval.CaptionFor(7)).Should().Throw<KeyNotFoundException>()
            .WithMessage("Class 7 has no training caption; classes with captions: 0, 1, 2.");
    }

    [Fact]
    public void ByEmbeddingReturnsTheNearestTrainingImagesMostFrequentCaption()
    {
        using var embeddings = tensor(new float[] { 1, 0, 0, 1, -1, 0 }).reshape(3, 2);
        string[][] captions =
        [
            ["a road .", "a road .", "a car ."],
            ["a lake ."],
            ["a field .", "a farm ."],
        ];
        using var retrieval = new NearestCaptionRetrieval(embeddings, captions);
        // Cosine: [2, 0.1] is nearest to image 0; [0, 3] to image 1; [-1, -0.2] to image 2; [1, 1] is
        // equally near images 0 and 1 → the earlier one.
        using var queries = tensor(new float[] { 2, 0.1f, 0, 3, -1, -0.2f, 1, 1 }).reshape(4, 2);

        retrieval.NearestIndices(queries).Should().Equal(0, 1, 2, 0);
        retrieval.CaptionsFor(queries).Should().Equal("a road .", "a lake .", "a field .", "a road .");
    }
}

using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Evaluation;
using Xunit;

namespace SpatialNet.Training.Tests.Evaluation;

/// <summary>The two language-only baselines on a hand-made split, every figure worked out by hand.</summary>
public sealed class VqaBaselineTests
{
    // Training split (file order matters only for ties).
    private static readonly VqaExample[] Train =
    [
        new("presence", "Is there a road?", "yes"),
        new("presence", "is there a  ROAD", "yes"),
        new("presence", "Is there a road?", "no"),
        new("presence", "Is there a forest?", "no"),
        new("presence", "Is there a forest?", "no"),
        new("presence", "Is there a farmland?", "yes"),
        new("count", "How many buildings?", "3"),
        new("count", "How many buildings?", "250"),
        new("count", "How many buildings?", "180"),
        new("count", "How many roads?", "7"),
        new("count", "How many roads?", "0"),
        new("comp", "Are there more roads than forests?", "no"),
        new("comp", "Are there more roads than forests?", "yes"),
        new("comp", "Are there more forests than roads?", "no"),
        new("rural_urban", "Is it a rural or an urban area", "rural"),
        new("rural_urban", "Is it a rural or an urban area", "urban"),
        new("rural_urban", "Is it a rural or an urban area", "urban"),
    ];

    [Fact]
    public void Majority_is_the_most_frequent_training_label_of_each_type_with_counts_binned()
    {
        var majority = new MajorityPerTypeBaseline(Train);

        // presence: yes 3, no 3 → tie, "yes" seen first. count bins: 3 → 1–10, 250 → 101–1000,
        // 180 → 101–1000, 7 → 1–10, 0 → 0: 1–10 and 101–1000 both twice, 1–10 seen first.
        // comp: no 2, yes 1. rural_urban: urban 2, rural 1.
        majority.Majority.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["presence"] = "yes",
            ["count"] = "between 1 and 10",
            ["comp"] = "no",
            ["rural_urban"] = "urban",
        });
        majority.Predict("count", "anything at all").Should().Be("between 1 and 10");
        var act = () => majority.Predict("area", "What is the area of the roads?");
        act.Should().Throw<KeyNotFoundException>().WithMessage("*'area'*comp, count, presence, rural_urban*");
    }

    [Fact]
    public void Lookup_answers_the_most_frequent_answer_of_the_same_normalised_question_else_the_type_majority()
    {
        var lookup = new QuestionOnlyLookupBaseline(Train);

        // "is there a road": yes, yes, no → yes (the two spellings are one question).
        lookup.Predict("presence", "IS THERE A ROAD?").Should().Be("yes");
        // "is there a forest": no, no → no, although the presence majority is yes.
        lookup.Predict("presence", "Is there a forest").Should().Be("no");
        // "how many buildings": 1–10 once, 101–1000 twice.
        lookup.Predict("count", "How many buildings?").Should().Be("between 101 and 1000");
        // "how many roads": 1–10 once, 0 once → tie, 1–10 seen first.
        lookup.Predict("count", "How many roads?").Should().Be("between 1 and 10");
        // "more roads than forests": no once, yes once → tie, "no" seen first. Word order matters.
        lookup.Predict("comp", "Are there more roads than forests?").Should().Be("no");
        lookup.Predict("comp", "Are there more forests than roads?").Should().Be("no");
        // Never seen: the type majority.
        lookup.Predict("presence", "Is there a lake?").Should().Be("yes");
        lookup.Knows("presence", "Is there a lake?").Should().BeFalse();
        lookup.DistinctQuestions.Should().Be(8);
    }

    [Fact]
    public void Baselines_are_scored_per_type_with_AA_and_OA()
    {
        VqaExample[] val =
        [
            new("presence", "Is there a road?", "no"),          // majority yes ✗, lookup yes ✗
            new("presence", "Is there a forest?", "no"),        // majority ✗,     lookup no ✓
            new("presence", "Is there a lake?", "yes"),         // majority ✓,     lookup (fallback yes) ✓
            new("count", "How many buildings?", "500"),         // bin 101–1000: majority 1–10 ✗, lookup ✓
            new("count", "How many roads?", "4"),               // bin 1–10: majority ✓, lookup ✓
            new("comp", "Are there more forests than roads?", "yes"), // majority no ✗, lookup no ✗
            new("rural_urban", "Is it a rural or an urban area?", "urban"), // both urban ✓
            new("rural_urban", "Is it a rural or an urban area?", "rural"), // both ✗
        ];
        var baselines = VqaBaselines.Fit(Train);
        baselines.Select(b => b.Name).Should().Equal(MajorityPerTypeBaseline.DefaultName, QuestionOnlyLookupBaseline.DefaultName);

        var majority = VqaBaselines.Score(baselines[0], val);
        majority.PerType["presence"].Correct.Should().Be(1);
        majority.PerType["count"].Correct.Should().Be(1);
        majority.PerType["comp"].Correct.Should().Be(0);
        majority.PerType["rural_urban"].Correct.Should().Be(1);
        // AA = (1/3 + 1/2 + 0 + 1/2) / 4 = (4/3) / 4 = 1/3; OA = 3/8.
        majority.AverageAccuracy.Should().BeApproximately(1.0 / 3, 1e-12);
        majority.OverallAccuracy.Should().Be(3.0 / 8);

        var lookup = VqaBaselines.Score(baselines[1], val);
        lookup.PerType["presence"].Correct.Should().Be(2);
        lookup.PerType["count"].Correct.Should().Be(2);
        lookup.PerType["comp"].Correct.Should().Be(0);
        lookup.PerType["rural_urban"].Correct.Should().Be(1);
        // AA = (2/3 + 1 + 0 + 1/2) / 4 = (13/6) / 4 = 13/24; OA = 5/8.
        lookup.AverageAccuracy.Should().BeApproximately(13.0 / 24, 1e-12);
        lookup.OverallAccuracy.Should().Be(5.0 / 8);
    }

    [Theory]
    [InlineData("Is there a road?", "is there a road")]
    [InlineData("Is there a  Road", "is there a road")]
    [InlineData("  How many\tbuildings  ?? ", "how many buildings")]
    [InlineData("Are there more roads than water areas?", "are there more roads than water areas")]
    [InlineData("What is the amount of residential buildings at the bottom of a  road?", "what is the amount of residential buildings at the bottom of a road")]
    public void Question_normalisation_lowercases_collapses_spaces_and_strips_the_trailing_question_mark(string text, string normalised)
    {
        QuestionOnlyLookupBaseline.Normalize(text).Should().Be(normalised);
    }

    [Fact]
    public void Baselines_need_training_questions()
    {
        var act = () => new MajorityPerTypeBaseline([]);
        act.Should().Throw<ArgumentException>().WithMessage("*at least one training question*");
    }

    [SkippableFact]
    public void On_the_real_rsvqa_lr_sample_the_baselines_give_the_documented_figures()
    {
        var root = SharedData.Find("rsvqa-lr-sample");
        Skip.If(root is null, "shared/data/rsvqa-lr-sample not found beside the repository (set SPATIALNET_SHARED_DATA)");
        var options = new RsvqaOptions { VerifyImages = false };
        var train = new RsvqaDataset(root!, "train", options).Questions.Select(VqaExample.From);
        var val = new RsvqaDataset(root!, "val", options).Questions.Select(VqaExample.From).ToArray();

        var baselines = VqaBaselines.Fit(train);
        var majority = VqaBaselines.Score(baselines[0], val);
        var lookup = VqaBaselines.Score(baselines[1], val);

        // Reference baseline figures, val: majority count 25.67, presence 78.22, comparison 67.28, rural/urban 56.25,
        // AA 56.86, OA 57.59; lookup 60.16, 89.33, 85.65, 56.25, AA 72.85, OA 78.64.
        Percent(majority.PerType["count"].Accuracy).Should().Be(25.67);
        Percent(majority.PerType["presence"].Accuracy).Should().Be(78.22);
        Percent(majority.PerType["comp"].Accuracy).Should().Be(67.28);
        Percent(majority.PerType["rural_urban"].Accuracy).Should().Be(56.25);
        Percent(majority.AverageAccuracy).Should().Be(56.86);
        Percent(majority.OverallAccuracy).Should().Be(57.59);
        Percent(lookup.PerType["count"].Accuracy).Should().Be(60.16);
        Percent(lookup.PerType["presence"].Accuracy).Should().Be(89.33);
        Percent(lookup.PerType["comp"].Accuracy).Should().Be(85.65);
        Percent(lookup.PerType["rural_urban"].Accuracy).Should().Be(56.25);
        Percent(lookup.AverageAccuracy).Should().Be(72.85);
        Percent(lookup.OverallAccuracy).Should().Be(78.64);
    }

    private static double Percent(double accuracy) => Math.Round(100 * accuracy, 2);
}

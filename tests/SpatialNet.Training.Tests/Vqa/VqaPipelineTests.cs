using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Text;
using SpatialNet.Training.Transforms;
using SpatialNet.Training.Vqa;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Vqa;

/// <summary>
/// The question bank, batch source, deduplicated forward pass and evaluator on the tiny RSVQA
/// fixture (7 questions: 0 rural_urban, 1 presence, 2 count 13, 3 comp, 4 presence naming "Left" — all
/// about image 7 — then 5 count 0 and 6 count 1500 about image 12).
/// </summary>
public sealed class VqaPipelineTests : IDisposable
{
    private static readonly string[] AnswerLabels =
        ["yes", "no", "rural", "urban", "0", "between 1 and 10", "between 11 and 100", "between 101 and 1000", "more than 1000"];

    private readonly TempDirectory _dir = new();
    private readonly RsvqaDataset _dataset;
    private readonly TextEncoder _questions;
    private readonly AnswerVocabulary _answers = new(AnswerLabels);

    public VqaPipelineTests()
    {
        RsvqaFixture.Write(_dir.Path);
        _dataset = new RsvqaDataset(_dir.Path, "train");
        _questions = _dataset.BuildQuestionEncoder();
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Gather_carries_each_image_once_per_augmentation_permission_and_maps_every_question_to_its_own_image()
    {
        using var bank = VqaQuestionBank.Create(_dataset, _questions, _answers);
        using var scope = NewDisposeScope();

        var batch = bank.Gather([0, 4, 5, 1, 6]);

        // Image 7 (row 0) for question 0 (may be flipped), image 7 again for question 4 ("Left": may
        // not), image 12 (row 1) for questions 5 and 6; question 1 reuses the first copy.
        bank.ImageIds.Should().Equal(7, 12);
        batch[VqaQuestionBank.ImageIndexKey].data<long>().ToArray().Should().Equal(0, 1, 2, 0, 2);
        batch[VqaQuestionBank.ImageAllowGeometricKey].data<bool>().ToArray().Should().Equal(true, false, true);
        var images = batch[VqaQuestionBank.ImageKey];
        images.shape.Should().Equal(3, 3, 8, 8);
        images[1, 2, 5, 6].item<byte>().Should().Be(RsvqaFixture.Pixel(7, 2, 5, 6));
        images[2, 1, 3, 4].item<byte>().Should().Be(RsvqaFixture.Pixel(12, 1, 3, 4));
        batch[SampleKeys.Answer].data<long>().ToArray().Should().Equal(
            _answers.Encode("rural"), _answers.Encode("yes"), _answers.Encode("0"), _answers.Encode("yes"), _answers.Encode("more than 1000"));
        batch[SampleKeys.QuestionType].data<long>().ToArray().Should().Equal(
            (long)RsvqaQuestionType.RuralUrban, (long)RsvqaQuestionType.Presence, (long)RsvqaQuestionType.Count,
            (long)RsvqaQuestionType.Presence, (long)RsvqaQuestionType.Count);
        // Questions padded with 0 to the longest of the batch; row 2 is question 5's ids.
        var longest = new[] { 0, 4, 5, 1, 6 }.Max(q => _questions.Encode(_dataset.Questions[q].Text).Length);
        var ids = batch[SampleKeys.Question];
        ids.shape.Should().Equal(5, longest);
        var q5 = _questions.Encode(_dataset.Questions[5].Text);
        ids[2].data<long>().ToArray().Should().Equal(q5.Concat(Enumerable.Repeat(0L, longest - q5.Length)));
    }

    [Fact]
    public void Encoding_each_image_once_gives_the_same_logits_and_gradients_as_one_image_per_question()
    {
        torch.manual_seed(3);
        using var model = TinyVqaModel();
        using var bank = VqaQuestionBank.Create(_dataset, _questions, _answers);
        using var scope = NewDisposeScope();
        var batch = bank.Gather([0, 4, 5, 1, 6, 2]);
        new ToFloat().Apply(batch);
        var perQuestion = new Dictionary<string, Tensor>(batch)
        {
            [VqaQuestionBank.ImageKey] = batch[VqaQuestionBank.ImageKey].index_select(0, batch[VqaQuestionBank.ImageIndexKey]),
        };
        perQuestion.Remove(VqaQuestionBank.ImageIndexKey);
        var patchWeight = model.Encoder.AsModule().named_parameters().Single(p => p.name == "patch_embed.proj.weight").parameter;

        var shared = VqaForward.Logits(model, "rsvqa", batch);
        shared.sum().backward();
        var sharedGrad = patchWeight.grad!.clone();
        patchWeight.grad!.zero_();
        var plain = VqaForward.Logits(model, "rsvqa", perQuestion);
        plain.sum().backward();

        shared.shape.Should().Equal(6, AnswerLabels.Length);
        shared.allclose(plain, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
        sharedGrad.allclose(patchWeight.grad!, rtol: 1e-4, atol: 1e-6).Should().BeTrue();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Evaluator_scores_every_answer_under_its_own_question_type_with_counts_as_bins(bool bfloat16Model)
    {
        // Scripted answers by question position: 0 rural_urban (truth rural) → urban ✗; 1 presence
        // (yes) → yes ✓; 2 count (13: 11–100) → 11–100 ✓; 3 comp (no) → no ✓; 4 presence (yes) → no ✗;
        // 5 count (0) → 0 ✓; 6 count (1500: more than 1000) → 101–1000 ✗.
        string[] scripted = ["urban", "yes", "between 11 and 100", "no", "no", "0", "between 101 and 1000"];
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 8, PatchSize = 4, EmbedDim = 8, Depth = 1, NumHeads = 2 });
        var head = new ScriptedHead("rsvqa", TokenLayout.Of(encoder), scripted.Select(a => (long)_answers.Encode(a)).ToArray(), AnswerLabels.Length);
        using var model = new MultiTaskModel(encoder, [head]);
        model.train();
        // A model evaluated during bf16 mixed-precision training holds bfloat16 weights: float32 images must be cast to it.
        if (bfloat16Model)
            model.to(ScalarType.BFloat16);
        using var bank = VqaQuestionBank.Create(_dataset, _questions, _answers);

        var evaluation = new VqaEvaluator("rsvqa", _answers, new ToFloat(), batchSize: 3).Evaluate(model, bank);

        var r = evaluation.Result;
        r.PerType["rural_urban"].Should().Be(new VqaTypeAccuracy(0, 1));
        r.PerType["presence"].Should().Be(new VqaTypeAccuracy(1, 2));
        r.PerType["count"].Should().Be(new VqaTypeAccuracy(2, 3));
        r.PerType["comp"].Should().Be(new VqaTypeAccuracy(1, 1));
        // AA = (0 + 1/2 + 2/3 + 1) / 4 = 13/24; OA = 4/7.
        r.AverageAccuracy.Should().BeApproximately(13.0 / 24, 1e-12);
        r.OverallAccuracy.Should().BeApproximately(4.0 / 7, 1e-12);
        evaluation.Predictions.Select(p => p.QuestionId).Should().Equal(100, 101, 102, 103, 104, 105, 106);
        evaluation.Predictions.Select(p => p.Predicted).Should().Equal(scripted);
        evaluation.Predictions[6].Should().Be(new VqaPrediction(106, 12, "count", "How many houses?", "more than 1000", "between 101 and 1000"));
        head.SawBatches.Should().BeGreaterThan(1);
        model.training.Should().BeTrue("the evaluator restores the model's mode");
    }

    [Fact]
    public void Batch_source_serves_every_question_its_repeat_count_per_epoch_reproducibly()
    {
        using var bank = VqaQuestionBank.Create(_dataset, _questions, _answers);
        using var source = new VqaBatchSource(bank, new VqaBatchSourceOptions
        {
            BatchSize = 2,
            Seed = 5,
            LengthBucketBatches = 2,
            Repeats = new Dictionary<RsvqaQuestionType, int> { [RsvqaQuestionType.RuralUrban] = 3, [RsvqaQuestionType.Comparison] = 0 },
        });

        // 7 questions, rural_urban (question 0) three times, comp (question 3) left out: 8 per epoch.
        source.QuestionsPerEpoch.Should().Be(8);
        source.BatchesPerEpoch.Should().Be(4);
        var epoch0 = source.EpochBatches(0);
        epoch0.SelectMany(b => b).Order().Should().Equal(0, 0, 0, 1, 2, 4, 5, 6);
        source.EpochBatches(0).Should().BeEquivalentTo(epoch0, o => o.WithStrictOrdering());
        source.EpochBatches(1).SelectMany(b => b).Order().Should().Equal(0, 0, 0, 1, 2, 4, 5, 6);
        // Resuming at batch 2 gives batch 2 of the same epoch.
        using var scope = NewDisposeScope();
        var resumed = source.GetBatches(0, startBatch: 2).First();
        resumed[SampleKeys.Index].data<long>().ToArray().Should().Equal(epoch0[2].Select(i => (long)i));
    }

    [Fact]
    public void Augmentation_never_moves_the_image_of_a_question_that_names_a_side()
    {
        using var bank = VqaQuestionBank.Create(_dataset, _questions, _answers);
        using var source = new VqaBatchSource(bank, new VqaBatchSourceOptions { BatchSize = 7, Seed = 11, Preprocess = new ToFloat() });
        using var scope = NewDisposeScope();
        var original = bank.Images.to(ScalarType.Float32).div(255);
        var moved = 0;
        for (var epoch = 0; epoch < 4; epoch++)
        {
            var batch = source.GetBatches(epoch).Single();
            var allow = batch[VqaQuestionBank.ImageAllowGeometricKey].data<bool>().ToArray();
            var images = batch[VqaQuestionBank.ImageKey];
            var rows = RowsOf(batch, bank);
            for (var u = 0; u < allow.Length; u++)
            {
                var same = images[u].eq(original[rows[u]]).all().item<bool>();
                if (!allow[u]) same.Should().BeTrue("question 4 asks about the left side");
                else if (!same) moved++;
            }
        }
        moved.Should().BePositive("images of other questions are flipped or rotated");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Modality_dropout_blanks_whole_image_rows_with_its_probability(double probability)
    {
        using var bank = VqaQuestionBank.Create(_dataset, _questions, _answers);
        using var source = new VqaBatchSource(bank, new VqaBatchSourceOptions
        {
            BatchSize = 7, Seed = 2, Preprocess = new ToFloat(), FlipRotate = false, ImageDropProbability = probability,
        });
        using var scope = NewDisposeScope();

        var images = source.GetBatches(0).Single()[VqaQuestionBank.ImageKey];

        // Probability 1: every row is zero; 0: every row is the image (no pixel of the fixture is 0 in every band).
        var rowIsZero = images.abs().flatten(1).amax([1]).eq(0).data<bool>().ToArray();
        rowIsZero.Should().OnlyContain(z => z == (probability == 1.0));
    }

    private static int[] RowsOf(IReadOnlyDictionary<string, Tensor> batch, VqaQuestionBank bank)
    {
        var index = batch[SampleKeys.Index].data<long>().ToArray();
        var slot = batch[VqaQuestionBank.ImageIndexKey].data<long>().ToArray();
        var rows = new int[batch[VqaQuestionBank.ImageKey].shape[0]];
        for (var i = 0; i < index.Length; i++) rows[slot[i]] = bank.ImageRowOf((int)index[i]);
        return rows;
    }

    private MultiTaskModel TinyVqaModel()
    {
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 8, PatchSize = 4, EmbedDim = 8, Depth = 1, NumHeads = 2 });
        var head = new VqaHead("rsvqa", TokenLayout.Of(encoder), new VqaHeadOptions
        {
            NumAnswers = AnswerLabels.Length, VocabSize = _questions.Vocabulary.Count, Depth = 1, NumHeads = 2, ClassifierHiddenDim = 8,
        });
        var model = new MultiTaskModel(encoder, [head]);
        model.eval();
        return model;
    }

    /// <summary>Answers question i (the batch's "index" entry) with a fixed answer, as one-hot logits.</summary>
    private sealed class ScriptedHead : TaskHead
    {
        private readonly long[] _answers;
        private readonly int _numAnswers;

        public ScriptedHead(string task, TokenLayout layout, long[] answers, int numAnswers) : base(task, layout)
        {
            _answers = answers;
            _numAnswers = numAnswers;
            RegisterComponents();
        }

        public int SawBatches { get; private set; }

        public override TaskKind Kind => TaskKind.VisualQuestionAnswering;

        public override IReadOnlyList<string> InputNames => [SampleKeys.Index];

        public override IReadOnlyList<string> MetricNames => [];

        public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs)
        {
            SawBatches++;
            var index = GetInput(inputs, SampleKeys.Index).data<long>().ToArray();
            index.Length.Should().Be((int)tokens.shape[0]);
            var chosen = tensor(index.Select(i => _answers[i]).ToArray());
            return nn.functional.one_hot(chosen, _numAnswers).to(ScalarType.Float32);
        }

        public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null) =>
            throw new NotSupportedException();

        public override Tensor Predict(Tensor predictions) => predictions;
    }
}

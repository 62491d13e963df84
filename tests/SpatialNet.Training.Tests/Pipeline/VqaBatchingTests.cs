using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Text;
using SpatialNet.Training.Transforms;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Pipeline;

/// <summary>
/// The RSVQA options of the one batch source (image-deduplicated batches, repeats, length buckets,
/// the VQA augmentation rule, modality dropout), the model's deduplicated forward pass and the
/// evaluator on the tiny RSVQA fixture (7 questions: 0 rural_urban, 1 presence, 2 count 13, 3 comp,
/// 4 presence naming "Left" — all about image 7 — then 5 count 0 and 6 count 1500 about image 12).
/// </summary>
public sealed class VqaBatchingTests : IDisposable
{
    private static readonly string[] AnswerLabels =
        ["yes", "no", "rural", "urban", "0", "between 1 and 10", "between 11 and 100", "between 101 and 1000", "more than 1000"];

    private readonly TempDirectory _dir = new();
    private readonly RsvqaDataset _dataset;
    private readonly TextEncoder _questions;
    private readonly AnswerVocabulary _answers = new(AnswerLabels);

    public VqaBatchingTests()
    {
        RsvqaFixture.Write(_dir.Path);
        _questions = new RsvqaDataset(_dir.Path, "train").BuildQuestionEncoder();
        _dataset = new RsvqaDataset(_dir.Path, "train", new RsvqaOptions { QuestionEncoder = _questions, Answers = _answers });
    }

    public void Dispose() => _dir.Dispose();

    private DatasetBatchSource Source(int batchSize, DatasetBatchPreparation preparation, ulong seed = 0, bool shuffle = true) =>
        new(new DataLoader(_dataset, batchSize, shuffle, seed), preparation, augmentationSeed: seed);

    [Fact]
    public void Deduplicated_batches_carry_each_image_once_per_augmentation_permission_and_map_every_question_to_its_image()
    {
        var source = Source(5, new DatasetBatchPreparation { DeduplicateImages = true });
        using var scope = NewDisposeScope();

        var batch = source.Load(new DatasetBatch(0, [0, 4, 5, 1, 6]));

        // Image 7 for question 0 (may be flipped), image 7 again for question 4 ("Left": may not),
        // image 12 for questions 5 and 6; question 1 reuses the first copy.
        batch[SampleKeys.ImageIndex].data<long>().ToArray().Should().Equal(0, 1, 2, 0, 2);
        batch[SampleKeys.AllowGeometric].data<bool>().ToArray().Should().Equal(true, false, true);
        var images = batch[SampleKeys.Image];
        images.shape.Should().Equal(3, 3, 8, 8);
        images[1, 2, 5, 6].item<byte>().Should().Be(RsvqaFixture.Pixel(7, 2, 5, 6));
        images[2, 1, 3, 4].item<byte>().Should().Be(RsvqaFixture.Pixel(12, 1, 3, 4));
        batch[SampleKeys.Answer].data<long>().ToArray().Should().Equal(
            _answers.Encode("rural"), _answers.Encode("yes"), _answers.Encode("0"), _answers.Encode("yes"), _answers.Encode("more than 1000"));
        batch[SampleKeys.QuestionType].data<long>().ToArray().Should().Equal(
            (long)RsvqaQuestionType.RuralUrban, (long)RsvqaQuestionType.Presence, (long)RsvqaQuestionType.Count,
            (long)RsvqaQuestionType.Presence, (long)RsvqaQuestionType.Count);
        batch[SampleKeys.Question].shape[0].Should().Be(5);
    }

    [Fact]
    public void Encoding_each_image_once_gives_the_same_logits_and_gradients_as_one_image_per_question()
    {
        torch.manual_seed(3);
        using var model = TinyVqaModel();
        var source = Source(6, new DatasetBatchPreparation { DeduplicateImages = true, Transform = new ToFloat() });
        using var scope = NewDisposeScope();
        var planned = new DatasetBatch(0, [0, 4, 5, 1, 6, 2]);
        var batch = source.Prepare(source.Load(planned), planned, 0, 0);
        var perQuestion = new Dictionary<string, Tensor>(batch)
        {
            [SampleKeys.Image] = batch[SampleKeys.Image].index_select(0, batch[SampleKeys.ImageIndex]),
        };
        perQuestion.Remove(SampleKeys.ImageIndex);
        var patchWeight = model.Encoder.AsModule().named_parameters().Single(p => p.name == "patch_embed.proj.weight").parameter;

        var shared = model.Forward(batch[SampleKeys.Image], batch)["rsvqa"];
        shared.sum().backward();
        var sharedGrad = patchWeight.grad!.clone();
        patchWeight.grad!.zero_();
        var plain = model.Forward(perQuestion[SampleKeys.Image], perQuestion)["rsvqa"];
        plain.sum().backward();

        batch[SampleKeys.Image].shape[0].Should().Be(3);
        shared.shape.Should().Equal(6, AnswerLabels.Length);
        shared.allclose(plain, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
        sharedGrad.allclose(patchWeight.grad!, rtol: 1e-4, atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void Evaluator_scores_every_answer_under_its_own_question_type_with_counts_as_bins_on_deduplicated_batches()
    {
        // Scripted answers by question position: 0 rural_urban (truth rural) → urban ✗; 1 presence
        // (yes) → yes ✓; 2 count (13: 11–100) → 11–100 ✓; 3 comp (no) → no ✓; 4 presence (yes) → no ✗;
        // 5 count (0) → 0 ✓; 6 count (1500: more than 1000) → 101–1000 ✗.
        string[] scripted = ["urban", "yes", "between 11 and 100", "no", "no", "0", "between 101 and 1000"];
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 8, PatchSize = 4, EmbedDim = 8, Depth = 1, NumHeads = 2 });
        var head = new ScriptedHead("rsvqa", TokenLayout.Of(encoder), scripted.Select(a => (long)_answers.Encode(a)).ToArray(), AnswerLabels.Length);
        using var model = new MultiTaskModel(encoder, [head]);
        model.train();
        var batches = Source(3, new DatasetBatchPreparation
        {
            Targets = new Dictionary<string, IReadOnlyList<string>> { ["rsvqa"] = [SampleKeys.Answer] },
            DeduplicateImages = true,
            Transform = new ToFloat(),
        }, shuffle: false);
        var evaluator = new MultiTaskEvaluator(model, batches, [new TaskDefinition("rsvqa", TaskKind.VisualQuestionAnswering) { Labels = AnswerLabels }]);

        var r = evaluator.Run().Tasks.Single().Vqa!;

        r.PerType["rural_urban"].Should().Be(new VqaTypeAccuracy(0, 1));
        r.PerType["presence"].Should().Be(new VqaTypeAccuracy(1, 2));
        r.PerType["count"].Should().Be(new VqaTypeAccuracy(2, 3));
        r.PerType["comp"].Should().Be(new VqaTypeAccuracy(1, 1));
        // AA = (0 + 1/2 + 2/3 + 1) / 4 = 13/24; OA = 4/7.
        r.AverageAccuracy.Should().BeApproximately(13.0 / 24, 1e-12);
        r.OverallAccuracy.Should().BeApproximately(4.0 / 7, 1e-12);
        head.SawBatches.Should().Be(3);
        model.training.Should().BeTrue("the evaluator restores the model's mode");
    }

    [Fact]
    public void Repeats_and_length_buckets_serve_every_question_its_repeat_count_per_epoch_reproducibly()
    {
        var source = Source(2, new DatasetBatchPreparation
        {
            LengthBucketBatches = 2,
            Repeats = new Dictionary<string, int> { ["rural_urban"] = 3, ["comp"] = 0 },
        }, seed: 5);

        // 7 questions, rural_urban (question 0) three times, comp (question 3) left out: 8 per epoch in 4 batches.
        source.BatchesPerEpoch.Should().Be(4);
        var epoch0 = source.Plan(0).Select(b => b.Indices).ToArray();
        epoch0.Should().HaveCount(4);
        epoch0.SelectMany(b => b).Order().Should().Equal(0, 0, 0, 1, 2, 4, 5, 6);
        source.Plan(0).Select(b => b.Indices).Should().BeEquivalentTo(epoch0, o => o.WithStrictOrdering());
        source.Plan(1).SelectMany(b => b.Indices).Order().Should().Equal(0, 0, 0, 1, 2, 4, 5, 6);
        // Resuming at batch 2 gives batch 2 of the same epoch.
        using var scope = NewDisposeScope();
        var resumed = source.GetBatches(0, startBatch: 2).First();
        resumed[SampleKeys.Index].data<long>().ToArray().Should().Equal(epoch0[2].Select(i => (long)i));
    }

    [Fact]
    public void Repeats_need_a_dataset_that_knows_its_groups()
    {
        var plain = new InMemoryDataset("plain", 3);
        var act = () => new DatasetBatchSource(new DataLoader(plain, 2), new DatasetBatchPreparation { Repeats = new Dictionary<string, int> { ["x"] = 2 } });
        act.Should().Throw<ArgumentException>().WithMessage("*plain*");
    }

    [Fact]
    public void Augmentation_never_moves_the_image_of_a_question_that_names_a_side()
    {
        using var flipRotate = new RandomFlipRotate(11);
        var source = Source(7, new DatasetBatchPreparation { DeduplicateImages = true, Transform = new BatchTransformPipeline(new ToFloat(), flipRotate) }, seed: 11);
        using var scope = NewDisposeScope();
        var moved = 0;
        for (var epoch = 0; epoch < 4; epoch++)
        {
            var batch = source.GetBatches(epoch).Single();
            var allow = batch[SampleKeys.AllowGeometric].data<bool>().ToArray();
            var images = batch[SampleKeys.Image];
            var imageIds = batch[SampleKeys.ImageId].data<long>().ToArray();
            var slot = batch[SampleKeys.ImageIndex].data<long>().ToArray();
            for (var u = 0; u < allow.Length; u++)
            {
                var id = (int)imageIds[Array.IndexOf(slot, (long)u)];
                var same = images[u].mul(255).round().to(ScalarType.Byte)[2, 5, 6].item<byte>() == RsvqaFixture.Pixel(id, 2, 5, 6)
                    && images[u].mul(255).round().to(ScalarType.Byte)[1, 0, 7].item<byte>() == RsvqaFixture.Pixel(id, 1, 0, 7);
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
        var source = Source(7, new DatasetBatchPreparation { DeduplicateImages = true, Transform = new ToFloat(), ImageDropProbability = probability }, seed: 2);
        using var scope = NewDisposeScope();

        var images = source.GetBatches(0).Single()[SampleKeys.Image];

        // Probability 1: every row is zero; 0: every row is the image (no pixel of the fixture is 0 in every band).
        var rowIsZero = images.abs().flatten(1).amax([1]).eq(0).data<bool>().ToArray();
        rowIsZero.Should().OnlyContain(z => z == (probability == 1.0));
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

    /// <summary>A dataset of <c>n</c> 1×2×2 images without group facts.</summary>
    private sealed class InMemoryDataset(string name, int n) : IDataset
    {
        public string Name => name;

        public int Count => n;

        public Sample GetSample(int index)
        {
            var s = new Sample();
            s.Set(SampleKeys.Image, zeros([1, 2, 2], ScalarType.Byte));
            return s;
        }
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

        public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs)
        {
            SawBatches++;
            var index = GetInput(inputs, SampleKeys.Index).data<long>().ToArray();
            index.Length.Should().Be((int)tokens.shape[0]);
            var chosen = tensor(index.Select(i => _answers[i]).ToArray());
            return nn.functional.one_hot(chosen, _numAnswers).to(ScalarType.Float32);
        }

        public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null) => zeros([]);

        public override Tensor Predict(Tensor predictions) => predictions;
    }
}

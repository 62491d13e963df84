using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Losses;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Transforms;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>Caption targets from UCM-caption to the caption head through the trainer's batch source and trainable.</summary>
public sealed class CaptionBatchTests(SyntheticMultimodalFixture data) : IClassFixture<SyntheticMultimodalFixture>
{
    private static DatasetBatchSource Source(IDataset dataset, int batchSize) =>
        new(new DataLoader(dataset, batchSize, shuffle: false),
            new DatasetBatchPreparation
            {
                Targets = new Dictionary<string, IReadOnlyList<string>> { ["caption"] = [SampleKeys.Caption], ["land_use"] = [SampleKeys.Label] },
                Transform = new ToFloat(),
            });

    // Written from the sentence's tokens and the vocabulary's documented special ids, not from the encoder's Encode.
    private long[] ExpectedIds(UcmCaptionSentence sentence, int width)
    {
        var words = sentence.Tokens.Where(t => t.Length > 0).Select(t => (long)data.CaptionEncoder.Vocabulary.IdOf(t.ToLowerInvariant()));
        var row = new List<long> { 1 };
        row.AddRange(words);
        row.Add(2);
        while (row.Count < width)
            row.Add(0);
        return row.ToArray();
    }

    [Theory]
    [InlineData(CaptionSampling.PerSentence)]
    [InlineData(CaptionSampling.PerImage)]
    public void Caption_batches_hold_bos_words_eos_then_padding_under_the_task_name(CaptionSampling sampling)
    {
        var train = data.Ucm("train", sampling);
        train.Count.Should().Be(sampling == CaptionSampling.PerSentence ? 10 * 5 : 10);
        var source = Source(train, batchSize: 4);

        using var scope = NewDisposeScope();
        var batch = source.GetBatches(0).First();
        var ids = batch["caption"];
        ids.dtype.Should().Be(ScalarType.Int64);
        int width = (int)ids.shape[1];
        var index = batch[SampleKeys.Index].data<long>().ToArray();
        for (int b = 0; b < 4; b++)
        {
            var (_, sentence) = train.Describe((int)index[b]);
            // Per-image sampling uses the image's first sentence.
            if (sampling == CaptionSampling.PerImage)
                sentence.Should().BeSameAs(train.Describe((int)index[b]).Image.Sentences[0]);
            ids[b].data<long>().ToArray().Should().Equal(ExpectedIds(sentence!, width), $"row {b} is <bos> words <eos> <pad>…");
        }
        // The longest caption of the batch has no padding: the collator pads to the batch's longest.
        Enumerable.Range(0, 4).Select(b => ids[b][width - 1].item<long>()).Should().Contain(2);
    }

    [Fact]
    public void Teacher_forcing_reads_all_but_the_last_position_and_scores_the_next_token()
    {
        using var model = data.CreateModel(seed: 3, withVqa: false);
        var trainable = new MultiTaskTrainable(model, new WeightedSum());
        using var scope = NewDisposeScope();
        var batch = Source(data.Ucm("train"), batchSize: 6).GetBatches(0).First();
        var ids = batch["caption"];
        long length = ids.shape[1];

        var logits = model.Forward(batch["image"], batch, ["caption"])["caption"];
        logits.shape.Should().Equal(6, length - 1, ((SpatialNet.Heads.CaptionHead)model.Head("caption")).VocabSize);

        // The last position is never an input: changing it leaves every logit unchanged.
        var altered = new Dictionary<string, Tensor>(batch) { ["caption"] = ids.clone().index_fill_(1, tensor(new[] { length - 1 }), 7L) };
        var logitsAltered = model.Forward(batch["image"], altered, ["caption"])["caption"];
        logitsAltered.allclose(logits, rtol: 0, atol: 0).Should().BeTrue();

        // Loss by hand: mean over real target positions t + 1 of −log softmax(logits[b, t])[ids[b, t + 1]].
        var logProbabilities = logits.log_softmax(-1);
        double sum = 0;
        int count = 0;
        for (int b = 0; b < 6; b++)
        {
            for (int t = 0; t < length - 1; t++)
            {
                long target = ids[b][t + 1].item<long>();
                if (target == 0)
                    continue;
                sum -= logProbabilities[b][t][target].item<float>();
                count++;
            }
        }
        var losses = trainable.ComputeLosses(batch);
        losses.Terms.Keys.Should().BeEquivalentTo("caption/loss", "caption/weight", "land_use/loss", "land_use/weight");
        losses.Terms["caption/loss"].item<float>().Should().BeApproximately((float)(sum / count), 1e-5f);
    }
}

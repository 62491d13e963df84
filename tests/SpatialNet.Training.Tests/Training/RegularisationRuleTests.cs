using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Training;

/// <summary>Weight decay and the L2 term select parameters by one rule (timm's), and are not combined unless asked.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class RegularisationRuleTests
{
    private static MultiTaskTrainable Trainable(double l2)
    {
        manual_seed(2);
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 16, PatchSize = 8, EmbedDim = 8, Depth = 1, NumHeads = 2, LayerScaleInit = 1e-5 });
        var layout = TokenLayout.Of(encoder);
        var model = new MultiTaskModel(encoder, [new ClassificationHead("cls", layout, new ClassificationHeadOptions { NumClasses = 3, Pooling = PoolingKind.Attention })]);
        var uw = new UncertaintyWeighting(new TaskCatalog(new TaskDefinition("cls", TaskKind.Classification)));
        return new MultiTaskTrainable(model, uw, new L2Regularization(l2));
    }

    private static IBatchSource OneBatch() => new InMemoryBatchSource(
        new Dictionary<string, Tensor> { ["image"] = zeros(2, 3, 16, 16), ["cls"] = zeros(2, ScalarType.Int64) }, batchSize: 2);

    [Fact]
    public void WeightDecay_LeavesOutWhatTimmLeavesOut_AndDecaysWhatL2Penalises()
    {
        var trainable = Trainable(l2: 0.01);
        using var trainer = new Trainer(trainable, OneBatch(), new TrainerOptions { WeightDecay = 0.05, CombineL2AndWeightDecay = true, ShowProgress = false, Precision = PrecisionMode.Float32 });

        var decayed = trainer.Optimizer.Parameters.Buckets.Where(b => b.Group.Name == ParameterGroups.DecayGroupName)
            .SelectMany(b => b.Entries.Select(e => e.Name)).ToList();
        // Hand list: the weight matrices and kernels; not pos_embed, cls_token, the pooling query latent,
        // ls1/ls2 gamma, biases, norms or the 1-D log-variances.
        decayed.Should().BeEquivalentTo(
            "model.encoder.patch_embed.proj.weight", "model.encoder.blocks.0.attn.qkv.weight", "model.encoder.blocks.0.attn.proj.weight",
            "model.encoder.blocks.0.mlp.fc1.weight", "model.encoder.blocks.0.mlp.fc2.weight",
            "model.heads.cls.pool.q.weight", "model.heads.cls.pool.kv.weight", "model.heads.cls.pool.proj.weight", "model.heads.cls.fc.weight");
        trainable.L2!.SelectParameters(trainable.Model).Select(p => "model." + p.Name).Should().BeEquivalentTo(decayed, "one rule for both");
    }

    [Fact]
    public void L2AndWeightDecayTogether_AreRefusedUnlessAskedFor()
    {
        var act = () => new Trainer(Trainable(l2: 0.01), OneBatch(), new TrainerOptions { WeightDecay = 0.01, ShowProgress = false });
        act.Should().Throw<ArgumentException>().WithMessage("*L2 term (λ_reg = 0.01)*TrainerOptions.WeightDecay = 0.01*CombineL2AndWeightDecay*");

        // Defaults: the L2 term alone.
        using var defaults = new Trainer(Trainable(l2: 0.01), OneBatch(), new TrainerOptions { ShowProgress = false });
        defaults.Options.WeightDecay.Should().Be(0);
    }
}

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

/// <summary>
/// Parameters without a gradient in a step are skipped exactly as torch.optim.AdamW skips a
/// parameter whose grad is None: weights, moments and that parameter's own step count stay.
/// </summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class UnusedParameterTests
{
    private const double Lr = 0.1, Wd = 0.5, B1 = 0.9, B2 = 0.999, Eps = 1e-8;

    /// <summary>torch's AdamW for one scalar element (per-parameter step t), in double precision.</summary>
    private sealed class ReferenceElement(double theta)
    {
        public double Theta = theta, M, V;
        public int T;

        public void Step(double g)
        {
            T++;
            Theta *= 1 - Lr * Wd;
            M = B1 * M + (1 - B1) * g;
            V = B2 * V + (1 - B2) * g * g;
            double denom = Math.Sqrt(V) / Math.Sqrt(1 - Math.Pow(B2, T)) + Eps;
            Theta -= Lr / (1 - Math.Pow(B1, T)) * M / denom;
        }
    }

    [Fact]
    public void AHeadWithoutGradient_KeepsWeightsMomentsAndStepCount_AsTorchAdamW()
    {
        // Two "heads" of two elements each: head_a used every step, head_b only in steps 1 and 3;
        // in "log_vars" only element 0 is used in step 2 (the present task's log-variance).
        var module = new ThreeParameters();
        using var buffers = new FlatParameterBuffers(module);
        using var opt = new FlatAdamW(buffers, new FlatAdamWOptions { LearningRate = Lr, WeightDecay = Wd, Beta1 = B1, Beta2 = B2, Eps = Eps });
        var names = new[] { "head_a", "head_b", "log_vars" };
        var reference = names.ToDictionary(n => n, n => module.Get(n).data<float>().ToArray().Select(v => new ReferenceElement(v)).ToArray());
        double[][] grads = [[0.3, -0.2], [0.5, 0.1], [-0.4, 0.25]];

        for (int step = 1; step <= 3; step++)
        {
            bool all = step != 2;
            opt.ZeroGrad();
            using (no_grad())
            {
                for (int k = 0; k < names.Length; k++)
                {
                    var g = grads[k].Select(v => (float)(v * step)).ToArray();
                    if (!all && names[k] == "head_b")
                        g = [0f, 0f];
                    if (!all && names[k] == "log_vars")
                        g[1] = 0f;
                    module.Get(names[k]).grad!.copy_(tensor(g));
                    for (int i = 0; i < 2; i++)
                    {
                        bool used = all || (names[k] == "head_a") || (names[k] == "log_vars" && i == 0);
                        if (used)
                            reference[names[k]][i].Step(g[i]);
                    }
                }
            }
            var before = module.Get("head_b").data<float>().ToArray();
            opt.Step(all ? null : new Dictionary<string, long[]?> { ["head_b"] = null, ["log_vars"] = [1] });

            foreach (var n in names)
            {
                var actual = module.Get(n).data<float>().ToArray();
                for (int i = 0; i < 2; i++)
                    actual[i].Should().BeApproximately((float)reference[n][i].Theta, 2e-6f, $"{n}[{i}] after step {step}");
            }
            if (!all)
                module.Get("head_b").data<float>().ToArray().Should().Equal(before, "a skipped parameter is not touched at all");
        }
        // head_b took 2 steps: its moments are those of its own two gradients (bias-corrected with t = 2, not 3).
        var state = opt.ExportState();
        var m = state.Buckets[0].ExpAvg.data<float>().ToArray();
        m[2].Should().BeApproximately((float)reference["head_b"][0].M, 1e-7f);
        state.Buckets[0].Steps.Should().NotBeNull();
        state.Buckets[0].Steps!.data<double>().ToArray().Should().Equal(3, 3, 2, 2, 3, 2);
    }

    [Fact]
    public void MultiDatasetBatch_LeavesTheAbsentHeadAndItsLogVarianceUntouched()
    {
        manual_seed(3);
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 16, PatchSize = 8, EmbedDim = 16, Depth = 1, NumHeads = 2 });
        var layout = TokenLayout.Of(encoder);
        var model = new MultiTaskModel(encoder,
        [
            new ClassificationHead("cls", layout, new ClassificationHeadOptions { NumClasses = 3 }),
            new RegressionHead("count", layout, new RegressionHeadOptions { Pooling = PoolingKind.Mean }),
        ]);
        var uw = new UncertaintyWeighting(new TaskCatalog(new TaskDefinition("cls", TaskKind.Classification), new TaskDefinition("count", TaskKind.Regression)));
        var trainable = new MultiTaskTrainable(model, uw);
        var both = new Dictionary<string, Tensor> { ["image"] = randn(4, 3, 16, 16), ["cls"] = tensor(new long[] { 0, 1, 2, 1 }), ["count"] = rand(4) };
        var clsOnly = new Dictionary<string, Tensor> { ["image"] = both["image"], ["cls"] = both["cls"] };
        var source = new SequenceSource([both, clsOnly]);
        using var trainer = new Trainer(trainable, source, new TrainerOptions
        {
            Epochs = 1, LearningRate = 1e-2, WeightDecay = 0.1, GradientClipNorm = null, ShowProgress = false, Precision = PrecisionMode.Float32, LossSyncInterval = 1,
        });
        Dictionary<string, float[]>? afterFirst = null;
        trainer.TrainStep(both);
        afterFirst = Snapshot(trainable);
        trainer.TrainStep(clsOnly);
        var afterSecond = Snapshot(trainable);

        foreach (var (name, values) in afterFirst.Where(kv => kv.Key.StartsWith("model.heads.count.", StringComparison.Ordinal)))
            afterSecond[name].Should().Equal(values, $"{name} belongs to the absent task");
        afterSecond["loss_composer.log_vars"][1].Should().Be(afterFirst["loss_composer.log_vars"][1], "the absent task's log-variance");
        afterSecond["loss_composer.log_vars"][0].Should().NotBe(afterFirst["loss_composer.log_vars"][0], "the present task's log-variance is trained");
        afterSecond["model.heads.cls.fc.weight"].Should().NotEqual(afterFirst["model.heads.cls.fc.weight"]);
    }

    private static Dictionary<string, float[]> Snapshot(MultiTaskTrainable t) =>
        t.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().data<float>().ToArray());

    private sealed class SequenceSource(IReadOnlyList<Dictionary<string, Tensor>> batches) : IBatchSource
    {
        public int BatchesPerEpoch => batches.Count;

        public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0) => batches.Skip(startBatch);
    }

    private sealed class ThreeParameters : nn.Module
    {
        private readonly TorchSharp.Modules.Parameter head_a = new(tensor(new float[] { 1f, -1f }));
        private readonly TorchSharp.Modules.Parameter head_b = new(tensor(new float[] { 0.5f, 2f }));
        private readonly TorchSharp.Modules.Parameter log_vars = new(tensor(new float[] { 0f, 0f }));

        public ThreeParameters() : base(nameof(ThreeParameters)) => RegisterComponents();

        public Tensor Get(string name) => named_parameters().Single(p => p.name == name).parameter;
    }
}

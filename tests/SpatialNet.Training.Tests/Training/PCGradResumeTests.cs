using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Losses;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Training;

/// <summary>PCGrad's projection order comes from (seed, step): a resumed run equals the uninterrupted one bit for bit.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class PCGradResumeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spatialnet-pcgrad-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    /// <summary>
    /// Shared θ ∈ R³ and three tasks L_t = a_t·tanh(θ) + ½‖h_t‖² whose gradients conflict pairwise, so
    /// the result of the projection depends on its order.
    /// </summary>
    private sealed class ThreeTaskTrainable : ITrainable
    {
        private static readonly float[][] A = [[1f, 0.2f, 0f], [-1f, 1f, 0.3f], [-0.4f, -1f, -1f]];
        private readonly PCGrad _composer = new(seed: 9);
        private TrainingPosition _position = new(0, 0, 0);

        public ThreeTaskTrainable() => Module = new Net();

        public nn.Module Module { get; }

        public void OnStepStart(TrainingPosition position) => _position = position;

        public TrainingLosses ComputeLosses(IReadOnlyDictionary<string, Tensor> batch)
        {
            var net = (Net)Module;
            var x = batch["x"];
            var losses = new Dictionary<string, Tensor>();
            for (int t = 0; t < 3; t++)
                losses[$"t{t}"] = (tanh(net.Theta * x.mean()) * tensor(A[t])).sum() + 0.5 * net.Head(t).square().sum();
            var composed = _composer.Compose(losses, new LossContext { Step = _position.GlobalStep, SharedParameters = [net.Theta] });
            return new TrainingLosses(composed.Total, backward: composed.Backward);
        }

        private sealed class Net : nn.Module
        {
            private readonly Parameter theta = new(tensor(new float[] { 0.1f, -0.2f, 0.3f }));
            private readonly Parameter h0 = new(tensor(new float[] { 0.5f }));
            private readonly Parameter h1 = new(tensor(new float[] { -0.5f }));
            private readonly Parameter h2 = new(tensor(new float[] { 0.25f }));

            public Net() : base("three_tasks") => RegisterComponents();

            public Parameter Theta => theta;

            public Parameter Head(int t) => t switch { 0 => h0, 1 => h1, _ => h2 };
        }
    }

    private static TrainerOptions Options() => new()
    {
        Epochs = 2, LearningRate = 0.05, ShowProgress = false, Precision = PrecisionMode.Float32, LossSyncInterval = 1, GradientClipNorm = null, Seed = 1,
    };

    private static IBatchSource Source() => new InMemoryBatchSource(new Dictionary<string, Tensor> { ["x"] = linspace(0.5, 2.0, 12) }, batchSize: 2, shuffle: true, seed: 4);

    [Fact]
    public void ResumedRun_EqualsTheUninterruptedOne_BitForBit()
    {
        var straight = new ThreeTaskTrainable();
        using (var a = new Trainer(straight, Source(), Options()))
            a.Fit();

        var first = new ThreeTaskTrainable();
        var interrupted = Options();
        interrupted.MaxSteps = 5;
        interrupted.CheckpointDirectory = _dir;
        using (var b = new Trainer(first, Source(), interrupted))
            b.Fit();

        var second = new ThreeTaskTrainable();
        using (var c = new Trainer(second, Source(), Options()))
        {
            c.ResumeFrom(Path.Combine(_dir, Trainer.LastCheckpointName));
            c.Fit();
        }

        var expected = straight.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
        foreach (var (name, p) in second.Module.named_parameters())
            p.data<float>().ToArray().Should().Equal(expected[name], $"parameter {name}");
    }
}

using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Batching;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Training;

/// <summary>A small regression problem wired to the trainer: TinyMlp, 96 training and 32 validation samples.</summary>
internal sealed class TrainerFixture
{
    public const int Inputs = 4, Hidden = 16, Outputs = 2, TrainSamples = 96, BatchSize = 16;

    public TrainerFixture(long initSeed, double dropout = 0.0)
    {
        var (x, y) = SyntheticRegression.Make(TrainSamples + 32, Inputs, Outputs, seed: 21);
        X = x.narrow(0, 0, TrainSamples);
        Y = y.narrow(0, 0, TrainSamples);
        ValX = x.narrow(0, TrainSamples, 32);
        ValY = y.narrow(0, TrainSamples, 32);
        manual_seed(initSeed);
        Model = new TinyMlp(Inputs, Hidden, Outputs, dropout);
        Trainable = new DelegateTrainable(Model, b =>
        {
            var pred = Model.call(b["x"]).to(ScalarType.Float32);
            var mse = nn.functional.mse_loss(pred, b["y"]);
            var mae = nn.functional.l1_loss(pred, b["y"]);
            return new TrainingLosses(mse + 0.1 * mae, new Dictionary<string, Tensor> { ["mse"] = mse, ["mae"] = mae });
        });
        Source = new InMemoryBatchSource(new Dictionary<string, Tensor> { ["x"] = X, ["y"] = Y }, BatchSize, shuffle: true, seed: 3);
        Evaluator = new ValidationMse(this);
    }

    public Tensor X { get; }
    public Tensor Y { get; }
    public Tensor ValX { get; }
    public Tensor ValY { get; }
    public TinyMlp Model { get; }
    public DelegateTrainable Trainable { get; }
    public InMemoryBatchSource Source { get; }
    public IEvaluator Evaluator { get; }

    public static TrainerOptions Options(PrecisionMode precision = PrecisionMode.Float32) => new()
    {
        Epochs = 3,
        LearningRate = 0.01,
        WarmupSteps = 4,
        MinLrRatio = 0.1,
        GradientClipNorm = 1.0,
        WeightDecay = 1e-3,
        Precision = precision,
        KeepFloat32Inputs = new HashSet<string> { "y" },
        Seed = 5,
        LossSyncInterval = 4,
        ShowProgress = false,
        MonitorMetric = "val_mse",
        EarlyStoppingPatience = 10,
    };

    // The MLP's mean squared error on the held-out rows.
    private sealed class ValidationMse(TrainerFixture f) : IEvaluator
    {
        public string Split => "val";

        public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context)
        {
            var b = context.PrepareBatch(new Dictionary<string, Tensor> { ["x"] = f.ValX, ["y"] = f.ValY });
            var pred = f.Model.call(b["x"]).to(ScalarType.Float32);
            return new Dictionary<string, double> { ["val_mse"] = nn.functional.mse_loss(pred, b["y"]).item<float>() };
        }

        public void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null) =>
            throw new NotSupportedException("The MLP has no report.");
    }
}

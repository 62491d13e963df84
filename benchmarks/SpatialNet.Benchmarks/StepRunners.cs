using SpatialNet.Training.Batching;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Benchmarks;

/// <summary>One way of running a training step; the benchmark times <see cref="Step"/>.</summary>
internal interface IStepRunner : IDisposable
{
    /// <summary>What is measured, for the report.</summary>
    string Description { get; }

    /// <summary>One training step on <paramref name="batch"/> (inside the caller's dispose scope).</summary>
    void Step(IReadOnlyDictionary<string, Tensor> batch);

    /// <summary>The step's parts, to be run in order and timed one by one (same work as <see cref="Step"/>, minus bookkeeping).</summary>
    IReadOnlyList<(string Name, Action Run)> Phases(IReadOnlyDictionary<string, Tensor> batch);

    /// <summary>Waits until all queued work (and pending loss read-backs) are done.</summary>
    void Sync();

    /// <summary>The most recent loss (after <see cref="Sync"/>).</summary>
    double LastLoss { get; }
}

/// <summary>The SpatialNet trainer's own step (<see cref="Trainer.TrainStep"/>): flat AdamW, mixed precision under bf16.</summary>
internal sealed class TrainerStepRunner : IStepRunner
{
    private readonly Trainer _trainer;
    private readonly Device _device;

    public TrainerStepRunner(BenchmarkModel model, IBatchSource source, BenchmarkOptions o, Device device)
    {
        _device = device;
        _trainer = new Trainer(model.Trainable, source, new TrainerOptions
        {
            Epochs = 1,
            LearningRate = 1e-4,
            WeightDecay = 0.01,
            // Constant learning rate, as the reference (the default cosine decay would follow the step count).
            MinLrRatio = 1,
            GradientClipNorm = o.Clip,
            Precision = o.Precision == Precision.Bf16 ? PrecisionMode.BFloat16Mixed : PrecisionMode.Float32,
            ShowProgress = false,
            Seed = 0,
        });
        Description = $"Trainer.TrainStep: FlatAdamW over {_trainer.Optimizer.Parameters.Buckets.Count} flat buckets, " +
            (o.Precision == Precision.Bf16 ? "bf16 compute with fp32 master weights and moments" : "fp32") +
            (o.Clip is double c ? $", clipping at {c}" : ", no clipping") + $", losses read back every {_trainer.Options.LossSyncInterval} steps";
    }

    public Trainer Trainer => _trainer;

    public string Description { get; }

    public double LastLoss => _trainer.History.Steps.Count > 0 ? _trainer.History.Steps[^1].Losses[TrainingLosses.TotalLossName] : double.NaN;

    public void Step(IReadOnlyDictionary<string, Tensor> batch) => _trainer.TrainStep(batch);

    public IReadOnlyList<(string Name, Action Run)> Phases(IReadOnlyDictionary<string, Tensor> batch)
    {
        IReadOnlyDictionary<string, Tensor>? prepared = null;
        TrainingLosses? losses = null;
        return
        [
            ("prepare batch", () => prepared = _trainer.PrepareBatch(batch)),
            ("zero grad", () => _trainer.Optimizer.ZeroGrad()),
            ("forward + loss", () => losses = _trainer.Model.ComputeLosses(prepared!)),
            ("backward", () => losses!.Total.backward()),
            ("optimizer", () =>
            {
                if (_trainer.Options.GradientClipNorm is double max)
                    _trainer.Optimizer.ClipGradNorm(max);
                _trainer.Optimizer.Step();
            }),
        ];
    }

    public void Sync()
    {
        _trainer.FlushLosses();
        Measurements.Synchronize(_device);
    }

    public void Dispose() => _trainer.Dispose();
}

/// <summary>
/// The plain TorchSharp loop the baseline measured: TorchSharp's per-parameter
/// <c>torch.optim.AdamW</c>, one dispose scope per step, bf16 as bf16 weights (no master copy).
/// </summary>
internal sealed class TorchOptimizerStepRunner : IStepRunner
{
    private readonly BenchmarkModel _model;
    private readonly optim.Optimizer _optimizer;
    private readonly Device _device;
    private readonly double? _clip;
    private Tensor? _lastLoss;

    public TorchOptimizerStepRunner(BenchmarkModel model, BenchmarkOptions o, Device device)
    {
        _model = model;
        _device = device;
        _clip = o.Clip;
        if (o.Precision == Precision.Bf16)
            model.Model.to(ScalarType.BFloat16);
        // Created after the cast: the cast replaces the parameters.
        _optimizer = optim.AdamW(model.Model.parameters(), lr: 1e-4, weight_decay: 0.01);
        Description = "torch.optim.AdamW per parameter, " + (o.Precision == Precision.Bf16 ? "bf16 weights and state" : "fp32") +
            (o.Clip is double c ? $", clipping at {c}" : ", no clipping");
    }

    public string Description { get; }

    public double LastLoss => _lastLoss is null ? double.NaN : _lastLoss.to(ScalarType.Float32).cpu().item<float>();

    public void Step(IReadOnlyDictionary<string, Tensor> batch)
    {
        foreach (var (_, run) in Phases(batch))
            run();
    }

    public IReadOnlyList<(string Name, Action Run)> Phases(IReadOnlyDictionary<string, Tensor> batch)
    {
        TrainingLosses? losses = null;
        return
        [
            ("zero grad", () => _optimizer.zero_grad()),
            ("forward + loss", () => losses = _model.Trainable.ComputeLosses(batch)),
            ("backward", () => losses!.Total.backward()),
            ("optimizer", () =>
            {
                if (_clip is double max)
                    nn.utils.clip_grad_norm_(_model.Model.parameters(), max);
                _optimizer.step();
                _lastLoss?.Dispose();
                _lastLoss = losses!.Total.detach().DetachFromDisposeScope();
            }),
        ];
    }

    public void Sync()
    {
        Measurements.Synchronize(_device);
    }

    public void Dispose()
    {
        _lastLoss?.Dispose();
        _optimizer.Dispose();
    }
}

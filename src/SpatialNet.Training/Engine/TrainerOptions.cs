using SpatialNet.Training.Optimization;
using TorchSharp.Modules;

namespace SpatialNet.Training.Engine;

/// <summary>Settings of a <see cref="Trainer"/>. Defaults follow the SpatialNet-ViT paper where it states them (lr 1e-4, 50 epochs).</summary>
public sealed class TrainerOptions
{
    /// <summary>Epochs to train.</summary>
    public int Epochs { get; set; } = 50;

    /// <summary>Base learning rate of AdamW, &gt; 0.</summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>
    /// Decoupled weight decay of the decayed group; default 0, because a multi-task model's loss
    /// usually carries the paper's L2 term already (see <see cref="CombineL2AndWeightDecay"/>).
    /// </summary>
    public double WeightDecay { get; set; }

    /// <summary>AdamW β₁.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>AdamW β₂.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>AdamW ε.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>
    /// Parameters without weight decay; <c>null</c> (default) uses the rule the L2 term uses too,
    /// <see cref="SpatialNet.Modules.NoWeightDecay.For"/> on the model (ndim ≤ 1 and the names modules
    /// list, such as <c>pos_embed</c> and <c>cls_token</c>). Ignored when <see cref="ParameterGroups"/> is set.
    /// </summary>
    public Func<string, Parameter, bool>? NoWeightDecay { get; set; }

    /// <summary>Explicit parameter groups (replace the decay/no-decay split), or <c>null</c>.</summary>
    internal IReadOnlyList<ParameterGroupSpec>? ParameterGroups { get; set; }

    /// <summary>Linear warm-up steps of the warm-up + cosine schedule, fewer than the run's steps; 0 uses <see cref="WarmupFraction"/>.</summary>
    public long WarmupSteps { get; set; }

    /// <summary>Warm-up as a fraction of all steps, in [0, 1), when <see cref="WarmupSteps"/> is 0.</summary>
    public double WarmupFraction { get; set; }

    /// <summary>Final learning rate as a fraction of the base rate.</summary>
    public double MinLrRatio { get; set; }

    /// <summary>Maximum global gradient norm; <c>null</c> disables clipping.</summary>
    public double? GradientClipNorm { get; set; } = 1.0;

    /// <summary>
    /// Allows AdamW weight decay (<see cref="WeightDecay"/> &gt; 0) on a model whose loss carries the
    /// L2 term (<see cref="ITrainable.L2"/> with λ_reg &gt; 0). Both shrink the same weights in different
    /// ways, so by default the trainer refuses the combination.
    /// </summary>
    public bool CombineL2AndWeightDecay { get; set; }

    /// <summary>
    /// Precision mode; the model is cast when the trainer is created. The default,
    /// <see cref="PrecisionMode.Auto"/>, trains in bf16 mixed precision (float32 master weights and
    /// moments) when the model is on CUDA and in float32 otherwise; <see cref="Trainer.Precision"/>
    /// tells which was chosen.
    /// </summary>
    public PrecisionMode Precision { get; set; } = PrecisionMode.Auto;

    /// <summary>Batch entries never cast to the compute dtype under mixed precision (for example float targets).</summary>
    public IReadOnlySet<string>? KeepFloat32Inputs { get; set; }

    /// <summary>
    /// Seed for torch's CPU generator (set when the trainer is created) and for <see cref="Trainer.Random"/>;
    /// <c>null</c> leaves torch's generator alone and seeds <see cref="Trainer.Random"/> with 0.
    /// </summary>
    public ulong? Seed { get; set; }

    /// <summary>Metric monitored for early stopping and the best checkpoint (an evaluation metric, or <c>train_loss</c>); <c>null</c> disables both.</summary>
    public string? MonitorMetric { get; set; }

    /// <summary>Direction of improvement of <see cref="MonitorMetric"/>; null: min for losses and errors (mae, rmse), max otherwise.</summary>
    public MetricMode? MonitorMode { get; set; }

    /// <summary>Epochs without improvement before stopping; 0 monitors without stopping early.</summary>
    public int EarlyStoppingPatience { get; set; } = 5;

    /// <summary>Smallest change of <see cref="MonitorMetric"/> that counts as improvement.</summary>
    public double EarlyStoppingMinDelta { get; set; }

    /// <summary>Folder for <c>last.safetensors</c> and <c>best.safetensors</c>; <c>null</c> saves none.</summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Also save <c>last.safetensors</c> every this many steps (0: only at epoch ends and when stopped early).</summary>
    public int CheckpointEverySteps { get; set; }

    /// <summary>Folder for history.json/csv, steps.csv and the curves (<see cref="TrainingCharts"/>; updated every epoch); <c>null</c> writes none.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Draw the PNG curves into <see cref="OutputDirectory"/>.</summary>
    public bool WriteCharts { get; set; } = true;

    /// <summary>
    /// Write TensorBoard event files into <see cref="OutputDirectory"/>/tensorboard (<see cref="TensorBoardCallback"/>): every step's
    /// losses, task weights and learning rate, every epoch's mean training losses and evaluation metrics.
    /// </summary>
    public bool TensorBoard { get; set; }

    /// <summary>
    /// Steps between reading losses back to the host. Reading waits for the device, so on a GPU a
    /// larger interval lets the host queue work ahead; every step's values are still recorded.
    /// </summary>
    public int LossSyncInterval { get; set; } = 10;

    /// <summary>Show the console progress line (it also switches itself off when output is redirected).</summary>
    public bool ShowProgress { get; set; } = true;

    /// <summary>Stop after this many global steps (saving <c>last.safetensors</c>), or <c>null</c>.</summary>
    public long? MaxSteps { get; set; }

    /// <summary>Throw when a loss is NaN or infinite.</summary>
    public bool StopOnNonFiniteLoss { get; set; } = true;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option and its allowed range.</summary>
    public void Validate()
    {
        if (Epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Must be >= 1.");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Must be a finite number > 0 (at 0 the weights never change).");
        new FlatAdamWOptions { LearningRate = LearningRate, WeightDecay = WeightDecay, Beta1 = Beta1, Beta2 = Beta2, Eps = Eps }.Validate();
        if (WarmupSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "Must be >= 0.");
        if (!(WarmupFraction >= 0 && WarmupFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(WarmupFraction), WarmupFraction, "Must be in [0, 1) (a warm-up of the whole run never reaches the base rate).");
        if (!(MinLrRatio >= 0 && MinLrRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinLrRatio), MinLrRatio, "Must be in [0, 1].");
        if (GradientClipNorm is double c && (!(c > 0) || double.IsInfinity(c)))
            throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), c, "Must be a finite number > 0, or null to disable clipping.");
        if (!Enum.IsDefined(Precision))
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "Allowed: Float32, BFloat16Mixed, Auto.");
        if (MonitorMode is { } mode && !Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(MonitorMode), MonitorMode, "Allowed: Min, Max.");
        if (EarlyStoppingPatience < 0)
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "Must be >= 0 (0: never stop early).");
        if (!(EarlyStoppingMinDelta >= 0) || double.IsInfinity(EarlyStoppingMinDelta))
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingMinDelta), EarlyStoppingMinDelta, "Must be a finite number >= 0.");
        if (CheckpointEverySteps < 0)
            throw new ArgumentOutOfRangeException(nameof(CheckpointEverySteps), CheckpointEverySteps, "Must be >= 0.");
        if (LossSyncInterval < 1)
            throw new ArgumentOutOfRangeException(nameof(LossSyncInterval), LossSyncInterval, "Must be >= 1.");
        if (MaxSteps is < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "Must be >= 1, or null.");
    }
}

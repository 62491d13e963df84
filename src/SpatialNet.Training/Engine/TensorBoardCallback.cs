using TorchSharp;
using SummaryWriter = TorchSharp.Modules.SummaryWriter;

namespace SpatialNet.Training.Engine;

/// <summary>
/// TensorBoard event files through TorchSharp's <c>SummaryWriter</c>: per step <c>train/loss</c>, each task's loss and weight
/// (<c>train/{task}/loss</c>, <c>train/{task}/weight</c>), <c>train/learning_rate</c>; per epoch the mean training losses
/// (<c>epoch/train/…</c>) and the evaluation metrics under the evaluated split's name (<c>val/{task}/accuracy</c>).
/// Registered by the trainer when <see cref="TrainerOptions.TensorBoard"/> is on.
/// </summary>
/// <param name="directory">The event-file folder (<c>tensorboard --logdir</c> it).</param>
/// <param name="split">The evaluated split's name, the prefix of the metrics; null: <c>eval</c>.</param>
public sealed class TensorBoardCallback(string directory, string? split = null) : ITrainerCallback
{
    /// <summary>The folder under the output directory the trainer writes to.</summary>
    public const string FolderName = "tensorboard";

    private SummaryWriter? _writer;

    /// <summary>The event-file folder.</summary>
    public string Directory { get; } = directory ?? throw new ArgumentNullException(nameof(directory));

    private SummaryWriter Writer => _writer ??= torch.utils.tensorboard.SummaryWriter(Directory);

    // The trainer records step values in groups (one device read per group), so steps are written when an epoch or the run ends.
    private int _written;

    private void WriteSteps(Trainer trainer)
    {
        var steps = trainer.History.Steps;
        for (; _written < steps.Count; _written++)
        {
            var step = steps[_written];
            int at = checked((int)step.Step);
            foreach (var (name, value) in step.Losses)
                Writer.add_scalar("train/" + name, (float)value, at);
            Writer.add_scalar("train/learning_rate", (float)(step.LearningRateFactor * trainer.Options.LearningRate), at);
        }
    }

    /// <inheritdoc />
    public void OnCompleted(Trainer trainer, StopReason reason)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        WriteSteps(trainer);
    }

    /// <inheritdoc />
    public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(record);
        WriteSteps(trainer);
        int at = checked((int)record.GlobalStep);
        foreach (var (name, value) in record.Train)
            Writer.add_scalar("epoch/train/" + name, (float)value, at);
        foreach (var (name, value) in record.Metrics)
            Writer.add_scalar($"{split ?? "eval"}/{name}", (float)value, at);
    }

}

using SpatialNet.Training.Batching;
using System.Text.Json;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Training.Checkpoints;
using static TorchSharp.torch;

namespace SpatialNet.Training.Engine;

/// <summary>
/// The <see cref="ITrainable"/> of a <see cref="MultiTaskModel"/>: one forward pass of the shared
/// encoder per batch, the losses of the tasks whose targets the batch carries, their combination by
/// an <see cref="ILossComposer"/> (the paper's L_MTL, Eq. 6, or a weighting strategy) plus the L2
/// term of Eq. (10–11), and the composer's own backward pass (PCGrad changes gradients there).
/// </summary>
/// <remarks>
/// <para>
/// A batch is a dictionary of named tensors holding the image under <see cref="ImageKey"/> and, for
/// each task it serves, that task's targets under the task's name (<see cref="DatasetBatchSource"/>
/// puts them there). Tasks without targets in a batch are not run and add nothing to the loss: a
/// batch from one dataset trains only that dataset's tasks.
/// </para>
/// <para>
/// <see cref="Module"/> holds the model under <c>model.*</c> and, when the composer has learnable
/// parameters (uncertainty weighting), the composer under <c>loss_composer.*</c>, so the optimizer
/// updates them and checkpoints contain them. Logged terms per step: <c>{task}/loss</c> (unweighted),
/// <c>{task}/weight</c> and <c>l2_penalty</c>. Losses are computed in float32 whatever the compute
/// dtype of the model.
/// </para>
/// </remarks>
public sealed class MultiTaskTrainable : ITrainable
{
    /// <summary>Suffix of a task's loss term (<c>land_use/loss</c>).</summary>
    public const string LossSuffix = "/loss";

    /// <summary>Suffix of a task's weight term (<c>land_use/weight</c>).</summary>
    public const string WeightSuffix = "/weight";

    /// <summary>Name of the L2 term of Eq. (10–11) among the logged terms.</summary>
    public const string L2TermName = "l2_penalty";

    private static readonly JsonSerializerOptions StateJson = new() { WriteIndented = false };

    private readonly L2Regularization? _l2;
    private readonly Dictionary<string, IReadOnlyDictionary<string, long[]?>?> _unusedByTaskSet = new(StringComparer.Ordinal);
    private TrainingPosition _position = new(0, 0, 0);

    /// <summary>Wraps a model and its loss composition.</summary>
    /// <param name="model">The multi-task model (on its device, like the composer's module).</param>
    /// <param name="composer">Combines the present tasks' losses.</param>
    /// <param name="l2">The L2 term (λ_reg·½Σθ²), or <c>null</c> for none.</param>
    /// <param name="imageKey">Batch entry of the images [B, C, H, W].</param>
    public MultiTaskTrainable(MultiTaskModel model, ILossComposer composer, L2Regularization? l2 = null, string imageKey = "image")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(composer);
        ArgumentException.ThrowIfNullOrWhiteSpace(imageKey);
        var clash = model.TaskNames.FirstOrDefault(t => t == imageKey);
        if (clash is not null)
            throw new ArgumentException($"Task '{clash}' has the name of the image entry; rename the task.", nameof(model));
        Model = model;
        Composer = composer;
        _l2 = l2 is { Lambda: > 0 } ? l2 : null;
        ImageKey = imageKey;
        Module = new TrainingModule(model, composer.AsModule());
    }

    /// <summary>The model under <c>model.*</c> and the composer's parameters, if any, under <c>loss_composer.*</c>.</summary>
    public nn.Module Module { get; }

    /// <summary>The multi-task model.</summary>
    public MultiTaskModel Model { get; }

    /// <summary>The loss composer.</summary>
    public ILossComposer Composer { get; }

    /// <summary>The L2 term, or <c>null</c> when λ_reg = 0.</summary>
    public L2Regularization? L2 => _l2;

    /// <summary>Batch entry of the images.</summary>
    public string ImageKey { get; }

    /// <summary>Where training stands (as last told by the trainer).</summary>
    public TrainingPosition Position => _position;

    /// <summary>The model's tasks whose targets <paramref name="batch"/> carries, in the model's task order.</summary>
    public IReadOnlyList<string> TasksIn(IReadOnlyDictionary<string, Tensor> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Model.TaskNames.Where(batch.ContainsKey).ToArray();
    }

    /// <inheritdoc />
    /// <exception cref="KeyNotFoundException">The batch has no image entry.</exception>
    /// <exception cref="InvalidOperationException">The batch carries no target of any of the model's tasks.</exception>
    public TrainingLosses ComputeLosses(IReadOnlyDictionary<string, Tensor> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var taskLosses = TaskLosses(batch, out var tasks, out var representation);
        var composed = Composer.Compose(taskLosses, new LossContext
        {
            Epoch = _position.Epoch,
            Step = _position.GlobalStep,
            SharedParameters = Model.SharedParameters(),
            Representation = representation,
        });

        var terms = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            terms[task + LossSuffix] = taskLosses[task];
            // On the device, even for learned weights: recording them must not wait for the step to finish.
            terms[task + WeightSuffix] = composed.WeightTensor(task);
        }
        if (_l2 is not null)
        {
            // Paper Eq. (10–11): L_final = L_MTL + λ_reg·½Σθ² over the model's weights.
            var penalty = _l2.Compute(Model);
            composed.AddPenalty(L2Regularization.PenaltyName, penalty);
            terms[L2TermName] = penalty;
        }
        return new TrainingLosses(composed.Total, terms, composed.Backward) { UnusedParameters = UnusedParameters(tasks) };
    }

    // The model's tasks the batch carries and their losses (predictions in float32 under mixed precision).
    private Dictionary<string, Tensor> TaskLosses(IReadOnlyDictionary<string, Tensor> batch, out IReadOnlyList<string> tasks, out Tensor representation)
    {
        if (!batch.TryGetValue(ImageKey, out var images))
            throw new KeyNotFoundException($"The batch has no '{ImageKey}' entry; it has: {string.Join(", ", batch.Keys.Order(StringComparer.Ordinal))}.");
        tasks = TasksIn(batch);
        if (tasks.Count == 0)
            throw new InvalidOperationException(
                $"The batch carries targets of none of the model's tasks ({string.Join(", ", Model.TaskNames)}); its entries: " +
                $"{string.Join(", ", batch.Keys.Order(StringComparer.Ordinal))}. Map dataset fields to task names (DatasetBatchPreparation.Targets).");

        var predictions = Model.Forward(images, batch, tasks, out representation);
        foreach (var task in tasks)
        {
            // Losses in float32 even when the model computes in bfloat16 (mixed precision).
            var p = predictions[task];
            if (p.is_floating_point() && p.dtype != ScalarType.Float32)
                predictions[task] = p.to(ScalarType.Float32);
        }
        var targets = tasks.ToDictionary(t => t, t => batch[t], StringComparer.Ordinal);
        return new Dictionary<string, Tensor>(Model.Losses(predictions, targets, batch), StringComparer.Ordinal);
    }

    /// <summary>
    /// The parameters a batch with only <paramref name="presentTasks"/> leaves without gradient:
    /// the heads of the other tasks (except what the L2 term covers, which gets its gradient) and
    /// the composer's parameters of those tasks; <c>null</c> when every task is present.
    /// </summary>
    public IReadOnlyDictionary<string, long[]?>? UnusedParameters(IReadOnlyCollection<string> presentTasks)
    {
        ArgumentNullException.ThrowIfNull(presentTasks);
        var key = string.Join("\n", presentTasks.Order(StringComparer.Ordinal));
        if (_unusedByTaskSet.TryGetValue(key, out var cached))
            return cached;
        var unused = new Dictionary<string, long[]?>(StringComparer.Ordinal);
        var l2Selected = _l2?.SelectParameters(Model).Select(p => p.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var task in Model.TaskNames.Where(t => !presentTasks.Contains(t)))
        {
            foreach (var (name, p) in Model.Head(task).named_parameters())
            {
                var inModel = $"heads.{task}.{name}";
                if (p.requires_grad && !l2Selected.Contains(inModel))
                    unused[$"model.{inModel}"] = null;
            }
        }
        foreach (var (name, indices) in Composer.UnusedParameters(presentTasks))
            unused[$"loss_composer.{name}"] = indices;
        var result = unused.Count == 0 ? null : unused;
        _unusedByTaskSet[key] = result;
        return result;
    }

    /// <inheritdoc />
    public void OnStepStart(TrainingPosition position) => _position = position ?? throw new ArgumentNullException(nameof(position));

    /// <inheritdoc />
    /// <remarks>
    /// When the composer reads the losses after the update (<see cref="ILossComposer.NeedsLossesAfterStep"/>,
    /// FAMO) they are recomputed here on the same batch without gradients: one extra forward pass.
    /// </remarks>
    public void OnStepEnd(IReadOnlyDictionary<string, Tensor> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!Composer.NeedsLossesAfterStep)
        {
            Composer.AfterOptimizerStep(new Dictionary<string, Tensor>());
            return;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Composer.AfterOptimizerStep(TaskLosses(batch, out _, out _));
    }

    /// <inheritdoc />
    public void OnEpochEnd(int epoch) => Composer.OnEpochEnd();

    /// <inheritdoc />
    public string? SaveState()
    {
        var state = Composer.SaveState();
        return state.Count == 0 ? null : JsonSerializer.Serialize(state, StateJson);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The state is not the JSON <see cref="SaveState"/> writes.</exception>
    public void LoadState(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Dictionary<string, double[]>? values;
        try
        {
            values = JsonSerializer.Deserialize<Dictionary<string, double[]>>(state, StateJson);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The loss composer state '{Trainer.TrainableStateKey}' is malformed: {e.Message}", e);
        }
        Composer.LoadState(values ?? []);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> SaveTensorState() => Composer.SaveTensorState();

    /// <inheritdoc />
    public void LoadTensorState(IReadOnlyDictionary<string, Tensor> state) => Composer.LoadTensorState(state ?? throw new ArgumentNullException(nameof(state)));

    /// <summary>Holds the model and the composer's learnable parameters under one state dict.</summary>
    private sealed class TrainingModule : nn.Module
    {
        public TrainingModule(MultiTaskModel model, nn.Module? composer) : base(nameof(MultiTaskTrainable))
        {
            register_module("model", model);
            if (composer is not null)
                register_module("loss_composer", composer);
        }
    }
}

using SpatialNet.Training.Batching;
using SpatialNet.Heads;
using SpatialNet.Models;
using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>The evaluation of every task of a model on one split.</summary>
/// <param name="Split">Name of the evaluated split (e.g. "val").</param>
/// <param name="Tasks">Each task's evaluation, in the model's task order.</param>
/// <param name="Metrics">The flat metric dictionary: <c>{task}/{metric}</c>, <c>{task}/loss</c> and <c>loss</c> (the sum of the tasks' mean losses).</param>
public sealed record MultiTaskEvaluationResult(string Split, IReadOnlyList<TaskEvaluation> Tasks, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Evaluates a <see cref="MultiTaskModel"/> on a split after each epoch (as the trainer's
/// <see cref="IEvaluator"/>) or on demand: runs the model in eval mode over every batch,
/// scores each task whose targets a batch carries with its metrics (<see cref="TaskMetricNames"/>),
/// and reports <c>{task}/{metric}</c> — the names early stopping monitors, e.g. <c>land_use/accuracy</c>.
/// </summary>
public sealed class MultiTaskEvaluator : IEvaluator
{
    private readonly IReadOnlyList<TaskDefinition> _tasks;
    private readonly IReadOnlyList<IBatchSource> _batches;

    /// <summary>Creates the evaluator of one batch source.</summary>
    /// <param name="model">The model (its heads named like the tasks).</param>
    /// <param name="batches">The split's batches (epoch 0 is evaluated: use an unshuffled, unaugmented source).</param>
    /// <param name="tasks">The tasks to score; each must be a task of the model.</param>
    /// <param name="split">Name of the split, for reports.</param>
    /// <param name="imageKey">Batch entry of the images.</param>
    /// <exception cref="ArgumentException">A task is not the model's, or asks for a metric its kind does not have.</exception>
    public MultiTaskEvaluator(MultiTaskModel model, IBatchSource batches, IReadOnlyList<TaskDefinition> tasks, string split = "val", string imageKey = "image")
        : this(model, [batches ?? throw new ArgumentNullException(nameof(batches))], tasks, split, imageKey)
    {
    }

    /// <summary>Creates the evaluator of several batch sources (one per dataset), evaluated one after the other.</summary>
    /// <param name="model">The model (its heads named like the tasks).</param>
    /// <param name="batches">The split's batches per dataset (epoch 0 of each is evaluated).</param>
    /// <param name="tasks">The tasks to score; each must be a task of the model.</param>
    /// <param name="split">Name of the split, for reports.</param>
    /// <param name="imageKey">Batch entry of the images.</param>
    /// <exception cref="ArgumentException">No source, a task that is not the model's, or a metric its kind does not have.</exception>
    public MultiTaskEvaluator(MultiTaskModel model, IReadOnlyList<IBatchSource> batches, IReadOnlyList<TaskDefinition> tasks, string split = "val", string imageKey = "image")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(tasks);
        if (batches.Count == 0 || batches.Any(b => b is null))
            throw new ArgumentException("At least one batch source is needed, and none may be null.", nameof(batches));
        foreach (var task in tasks)
        {
            if (!model.TaskNames.Contains(task.Name))
                throw new ArgumentException($"Evaluation task '{task.Name}' is not a task of the model ({string.Join(", ", model.TaskNames)}).", nameof(tasks));
            TaskMetricNames.Of(task);
        }
        Model = model;
        _batches = [.. batches];
        _tasks = tasks.OrderBy(t => model.TaskNames.ToList().IndexOf(t.Name)).ToArray();
        Split = split;
        ImageKey = imageKey;
    }

    /// <summary>The model.</summary>
    public MultiTaskModel Model { get; }

    /// <summary>The split's batch sources.</summary>
    public IReadOnlyList<IBatchSource> Batches => _batches;

    /// <summary>The tasks scored.</summary>
    public IReadOnlyList<TaskDefinition> Tasks => _tasks;

    /// <summary>Name of the split.</summary>
    public string Split { get; }

    /// <summary>Batch entry of the images.</summary>
    public string ImageKey { get; }

    /// <summary>Batch entry of each question's type (<see cref="Data.RsvqaQuestionType"/> as an integer), read for vqa tasks.</summary>
    public string QuestionTypeKey { get; init; } = Data.SampleKeys.QuestionType;

    /// <summary>
    /// Name of this model's rows in Table II (<c>{name} ({task})</c>), e.g. for an ablation evaluated
    /// beside the model. Default "SpatialNet".
    /// </summary>
    public string SystemName { get; init; } = "SpatialNet";

    /// <summary>The most recent result (after an epoch or <see cref="Run"/>).</summary>
    public MultiTaskEvaluationResult? LastResult { get; private set; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Score(context.PrepareBatch).Metrics;
    }

    /// <summary>
    /// Evaluates now: puts the model in eval mode, disables gradients, scores every task and restores
    /// the previous training mode.
    /// </summary>
    /// <param name="prepare">
    /// Applied to each batch first — e.g. the trainer's <c>PrepareBatch</c>, so that a model trained in
    /// mixed precision gets its inputs in the compute dtype; null leaves batches as they are.
    /// </param>
    public MultiTaskEvaluationResult Run(Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null)
    {
        bool wasTraining = Model.training;
        Model.eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            return Score(prepare ?? (b => b));
        }
        finally
        {
            if (wasTraining)
                Model.train();
        }
    }

    /// <inheritdoc />
    /// <remarks>Adds one Table II row per VQA task, named <c>{<see cref="SystemName"/>} ({task})</c>.</remarks>
    public void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        foreach (var t in Run(prepare).Tasks.Where(t => t.Vqa is not null))
            report.VqaRows.Add(new VqaRow($"{SystemName} ({t.Task.Name})", t.Vqa!));
    }

    private MultiTaskEvaluationResult Score(Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>> prepare)
    {
        var sets = _tasks.Where(t => !DenseEvaluation.Handles(t)).ToDictionary(t => t.Name, t => new TaskPredictionSet(t), StringComparer.Ordinal);
        // Per-pixel tasks are scored as they stream (areas or error sums), never kept per pixel.
        var dense = _tasks.Where(DenseEvaluation.Handles).ToDictionary(t => t.Name, t => new DenseEvaluation(t, DenseBaselines(t).Majority, DenseBaselines(t).Mean), StringComparer.Ordinal);
        foreach (var source in _batches)
        {
            using var batches = source.GetBatches(0).GetEnumerator();
            while (true)
            {
                // Advanced inside the batch's scope, so each batch is freed after it is scored.
                using var scope = NewDisposeScope();
                if (!batches.MoveNext())
                    break;
                var batch = prepare(batches.Current);
                var present = _tasks.Where(t => batch.ContainsKey(t.Name)).Select(t => t.Name).ToArray();
                if (present.Length == 0)
                    continue;
                var outputs = Model.Forward(batch[ImageKey], batch, present);
                foreach (var task in present)
                {
                    var p = outputs[task];
                    if (p.is_floating_point() && p.dtype != ScalarType.Float32)
                        outputs[task] = p.to(ScalarType.Float32);
                }
                var targets = present.ToDictionary(t => t, t => batch[t], StringComparer.Ordinal);
                var losses = Model.Losses(outputs, targets, batch);
                var predictions = Model.Predict(outputs);
                foreach (var task in _tasks.Where(t => present.Contains(t.Name)))
                {
                    int size = (int)targets[task.Name].shape[0];
                    if (dense.TryGetValue(task.Name, out var pixels))
                    {
                        pixels.Add(predictions[task.Name], targets[task.Name]);
                        pixels.AddLoss(losses[task.Name].to(ScalarType.Float64).item<double>(), size);
                        continue;
                    }
                    var set = sets[task.Name];
                    set.Add(predictions[task.Name], targets[task.Name],
                        task.Kind == TaskKind.VisualQuestionAnswering && batch.TryGetValue(QuestionTypeKey, out var types) ? types : null);
                    set.AddLoss(losses[task.Name].to(ScalarType.Float64).item<double>(), size);
                }
            }
        }

        var evaluations = new List<TaskEvaluation>();
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        double totalLoss = 0;
        foreach (var task in _tasks)
        {
            if (dense.TryGetValue(task.Name, out var pixels) ? pixels.Count == 0 : sets[task.Name].Count == 0)
                continue;
            var evaluation = pixels?.Compute() ?? sets[task.Name].Compute();
            evaluations.Add(evaluation);
            foreach (var (name, value) in evaluation.Metrics)
                metrics[task.Name + "/" + name] = value;
            if (evaluation.MeanLoss is double loss)
            {
                metrics[task.Name + "/" + TaskMetricNames.Loss] = loss;
                totalLoss += loss;
            }
        }
        if (evaluations.Count == 0)
            throw new InvalidOperationException($"The '{Split}' batches carry targets of none of the tasks {string.Join(", ", _tasks.Select(t => t.Name))}.");
        metrics[TaskMetricNames.Loss] = totalLoss;
        LastResult = new MultiTaskEvaluationResult(Split, evaluations, metrics);
        return LastResult;
    }

    // The constant baselines of a dense task from its training statistics: the most frequent class, the mean target.
    private static (int? Majority, double? Mean) DenseBaselines(TaskDefinition task) =>
        task.Statistics is { } s ? (s.ClassCounts is null ? null : s.MajorityClass, s.Mean is { Count: > 0 } m ? m[0] : null) : (null, null);
}

using SpatialNet.Heads;

namespace SpatialNet.Training.Inference;

/// <summary>A task a <see cref="Predictor"/> serves.</summary>
/// <param name="Name">Task name (the configuration's).</param>
/// <param name="Kind">What it predicts.</param>
/// <param name="Labels">Class, label or answer names (classification, multi-label, vqa), output names when known, else null.</param>
/// <param name="Outputs">Values per image: classes, labels, regression outputs or answers (0 for captions).</param>
public sealed record PredictorTask(string Name, TaskKind Kind, IReadOnlyList<string>? Labels, int Outputs);

/// <summary>One task's output for one image.</summary>
/// <param name="Task">Task name.</param>
/// <param name="Kind">Classification (class probabilities), regression (values in target units) or multi-label (label probabilities).</param>
/// <param name="Values">Probabilities (softmax for classification, sigmoid for multi-label) or regression values.</param>
/// <param name="Labels">Names of <paramref name="Values"/>' entries, or null.</param>
public sealed record TaskPrediction(string Task, TaskKind Kind, IReadOnlyList<float> Values, IReadOnlyList<string>? Labels)
{
    /// <summary>Classification: the index of the most probable class (lowest on ties); -1 otherwise.</summary>
    public int PredictedClass => Kind == TaskKind.Classification ? ArgMax(Values) : -1;

    /// <summary>Classification: the most probable class's name (its index as text without names); null otherwise.</summary>
    public string? PredictedLabel => PredictedClass is var c and >= 0 ? Labels?[c] ?? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>Multi-label: the labels with probability ≥ 0.5 (names, or indices as text); empty otherwise.</summary>
    public IReadOnlyList<string> PresentLabels => Kind != TaskKind.MultiLabel ? [] :
        Values.Select((p, i) => (p, i)).Where(x => x.p >= 0.5f)
            .Select(x => Labels?[x.i] ?? x.i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    private static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
        {
            if (values[i] > values[best])
                best = i;
        }
        return values.Count == 0 ? -1 : best;
    }
}

/// <summary>
/// Outputs of a batch of images, task by task, as flat row-major arrays: for task t with K values per
/// image, <c>Outputs[t][i * K + k]</c> is value k of image i (probabilities or regression values).
/// </summary>
public sealed class PredictionBatch
{
    internal PredictionBatch(int count, IReadOnlyList<PredictorTask> tasks, IReadOnlyDictionary<string, float[]> outputs)
    {
        Count = count;
        Tasks = tasks;
        Outputs = outputs;
    }

    /// <summary>Images in the batch.</summary>
    public int Count { get; }

    /// <summary>The tasks predicted, in model order.</summary>
    public IReadOnlyList<PredictorTask> Tasks { get; }

    /// <summary>Task name → values [Count × Outputs] row-major.</summary>
    public IReadOnlyDictionary<string, float[]> Outputs { get; }

    /// <summary>The prediction of image <paramref name="index"/> for every task.</summary>
    public IReadOnlyDictionary<string, TaskPrediction> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return Tasks.ToDictionary(t => t.Name,
                t => new TaskPrediction(t.Name, t.Kind, Outputs[t.Name].AsSpan(index * t.Outputs, t.Outputs).ToArray(), t.Labels),
                StringComparer.Ordinal);
        }
    }
}

/// <summary>An answer to a question about an image.</summary>
/// <param name="Answer">The most probable answer.</param>
/// <param name="Probability">Its probability.</param>
/// <param name="Probabilities">Every answer's probability, in <see cref="PredictorTask.Labels"/> order.</param>
/// <param name="Count">With a count branch: the predicted count (target units); else null.</param>
public sealed record AnswerPrediction(string Answer, float Probability, IReadOnlyList<float> Probabilities, float? Count);

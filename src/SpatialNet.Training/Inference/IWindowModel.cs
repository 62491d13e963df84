using SpatialNet.Heads;

namespace SpatialNet.Training.Inference;

/// <summary>One output of a <see cref="IWindowModel"/>: a task and the names of its values (class names, label names, or regression outputs).</summary>
/// <param name="Name">Task name.</param>
/// <param name="Kind">Classification, multi-label or regression (other kinds are not mapped).</param>
/// <param name="Labels">One name per value the task returns for a window.</param>
public sealed record WindowTask(string Name, TaskKind Kind, IReadOnlyList<string> Labels);

/// <summary>
/// A model that runs a batch of square image windows: the contract <see cref="SceneMapper"/> maps a
/// scene with. Implemented over a <c>MultiTaskModel</c> (<see cref="MultiTaskWindowModel"/>) and by
/// inference back ends; one instance is used from one thread at a time.
/// </summary>
public interface IWindowModel
{
    /// <summary>Bands C each window has.</summary>
    int Channels { get; }

    /// <summary>Window edge S in pixels (the model's input size).</summary>
    int WindowSize { get; }

    /// <summary>Tasks whose outputs <see cref="Run"/> returns.</summary>
    IReadOnlyList<WindowTask> Tasks { get; }

    /// <summary>Zero-based scene bands read when <see cref="SceneMappingOptions.Bands"/> is not set; null: the first <see cref="Channels"/>.</summary>
    IReadOnlyList<int>? SceneBands => null;

    /// <summary>Raw values [Low, High] mapped to 0–255 (one pair or one per band) when <see cref="SceneMappingOptions.InputRange"/> is not set; null: the sample type's range.</summary>
    IReadOnlyList<(double Low, double High)>? SceneInputRange => null;

    /// <summary>
    /// Runs <paramref name="count"/> windows <c>[count, C, S, S]</c> of float samples in the 8-bit
    /// range 0–255 (what training images hold); normalisation is the model's own business.
    /// </summary>
    /// <returns>Task name → <c>[count, Labels.Count]</c> row-major: probabilities for classification and
    /// multi-label tasks, values in target units for regression.</returns>
    IReadOnlyDictionary<string, float[]> Run(ReadOnlySpan<float> windows, int count);
}

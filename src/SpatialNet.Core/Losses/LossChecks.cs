using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>Argument checks shared by the composers.</summary>
internal static class LossChecks
{
    /// <summary>Throws unless there is at least one task and every loss is a floating-point 0-dim tensor.</summary>
    public static void RequireTaskLosses(IReadOnlyDictionary<string, Tensor> taskLosses, string composer)
    {
        ArgumentNullException.ThrowIfNull(taskLosses);
        if (taskLosses.Count == 0)
        {
            throw new ArgumentException($"{composer}: no task losses to compose; a batch must carry at least one task.", nameof(taskLosses));
        }

        foreach (var (task, loss) in taskLosses)
        {
            if (loss is null || loss.dim() != 0 || !loss.is_floating_point())
            {
                var shape = loss is null ? "null" : "[" + string.Join(", ", loss.shape) + "] " + loss.dtype;
                throw new ArgumentException(
                    $"{composer}: the loss of task '{task}' must be a floating-point 0-dim tensor; got {shape}.", nameof(taskLosses));
            }
        }
    }

    /// <summary>Throws unless <paramref name="weight"/> is finite and ≥ 0.</summary>
    public static double RequireWeight(string task, double weight) => weight >= 0 && !double.IsInfinity(weight)
        ? weight
        : throw new ArgumentOutOfRangeException(nameof(weight), weight, $"Loss weight of task '{task}' must be a finite number >= 0.");
}

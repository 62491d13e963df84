using System.Globalization;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Configuration;


namespace SpatialNet.Training.Pipeline;

public sealed partial class TrainingPipeline
{
    /// <summary>Explicit <c>class_weights</c> need one weight per class of the data (the class list the data decides).</summary>
    /// <exception cref="ConfigurationException">Another number of weights, naming the classes.</exception>
    internal static void CheckClassWeights(TaskOptions task, string at, int classes, IReadOnlyList<string>? labels, string source)
    {
        if (task.Head is not ClassificationHeadOptions { ClassWeights: { } weights } || weights.Count == classes)
            return;
        var names = labels is null ? "" : $" ({string.Join(", ", labels)})";
        throw new ConfigurationException(string.Create(CultureInfo.InvariantCulture,
            $"{at}:head:class_weights = [{string.Join(", ", weights)}]: {weights.Count} weights, but {source} has {classes} classes{names}; allowed one weight per class in that order, or \"balanced\"."));
    }

    /// <summary>
    /// <c>class_weights: "balanced"</c>: w_c = n / (C · n_c) from the training split's class counts (scikit-learn's
    /// <c>compute_class_weight("balanced")</c>), so every class carries the same total weight.
    /// </summary>
    /// <exception cref="ConfigurationException">A class has no training sample.</exception>
    internal static void BalanceClassWeights(TaskOptions task, string at, TargetStatistics? statistics, IReadOnlyList<string>? labels)
    {
        if (!task.BalancedClassWeights || task.Head is not ClassificationHeadOptions head)
            return;
        var counts = statistics?.ClassCounts
            ?? throw new ConfigurationException($"{at}:head:class_weights = \"balanced\": the training split gave no class counts.");
        head.ClassWeights = BalancedWeights(counts, c => labels is not null && c < labels.Count ? labels[c] : c.ToString(CultureInfo.InvariantCulture), at);
    }

    internal static double[] BalancedWeights(IReadOnlyList<long> counts, Func<int, string> name, string at)
    {
        long n = counts.Sum();
        var empty = Enumerable.Range(0, counts.Count).Where(c => counts[c] == 0).ToArray();
        if (empty.Length > 0)
            throw new ConfigurationException(
                $"{at}:head:class_weights = \"balanced\": no training sample of class {string.Join(", ", empty.Select(c => $"'{name(c)}'"))}; give explicit class_weights or add samples of it.");
        return counts.Select(c => (double)n / (counts.Count * (double)c)).ToArray();
    }
}

public sealed partial class TrainingPipeline
{
    /// <summary>
    /// <c>data:sampler = "class_balanced"</c>: sample i weighs 1 / n_{y_i} (n_c: the training count of class c of the
    /// source's first classification task), so every class is drawn equally often in expectation; unlabelled samples weigh 0.
    /// </summary>
    private static double[] ClassBalancedSampleWeights(OpenedSource source, IReadOnlyList<TaskDefinition> tasks)
    {
        var task = tasks.FirstOrDefault(t => t.Kind == TaskKind.Classification && source.TrainLabels.ContainsKey(t.Name))
            ?? throw new ConfigurationException($"data:sampler = \"class_balanced\": {source.Train.Name} serves no classification task.");
        return SampleWeightsOf(source.TrainLabels[task.Name]);
    }

    internal static double[] SampleWeightsOf(IReadOnlyList<long> labels)
    {
        var counts = labels.Where(l => l >= 0).GroupBy(l => l).ToDictionary(g => g.Key, g => g.LongCount());
        return labels.Select(l => l >= 0 ? 1.0 / counts[l] : 0.0).ToArray();
    }
}

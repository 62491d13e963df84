namespace SpatialNet.Training.Metrics;

/// <summary>Classification scores for one set of predictions.</summary>
/// <param name="Accuracy">Fraction of predictions equal to the expected label.</param>
/// <param name="PerClassAccuracy">
/// Per class (index = class id): correct / support, i.e. the class's recall; NaN for a class that never
/// occurs among the expected labels.
/// </param>
/// <param name="MacroF1">
/// Mean F1 over the classes that occur among the expected or the predicted labels (scikit-learn's
/// <c>average="macro"</c>); F1 = 2·TP / (2·TP + FP + FN), 0 when that denominator is 0.
/// </param>
/// <param name="PerClassF1">Per class F1 (NaN for a class that occurs in neither list).</param>
/// <param name="Confusion">Confusion matrix, rows = expected class, columns = predicted class.</param>
public sealed record ClassificationResult(
    double Accuracy,
    IReadOnlyList<double> PerClassAccuracy,
    double MacroF1,
    IReadOnlyList<double> PerClassF1,
    ConfusionMatrix Confusion);

/// <summary>Accuracy, per-class accuracy, macro-F1 and the confusion matrix for class predictions.</summary>
public static class ClassificationMetrics
{
    /// <summary>Scores integer class predictions.</summary>
    /// <param name="expected">Ground-truth class ids in [0, classNames.Count).</param>
    /// <param name="predicted">Predicted class ids, same length.</param>
    /// <param name="classNames">Class names in id order (the confusion matrix labels).</param>
    /// <returns>The scores.</returns>
    /// <exception cref="ArgumentException">When lengths differ, the list is empty or an id is out of range.</exception>
    public static ClassificationResult Compute(IReadOnlyList<int> expected, IReadOnlyList<int> predicted, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(classNames);
        if (expected.Count != predicted.Count)
        {
            throw new ArgumentException($"expected has {expected.Count} labels but predicted has {predicted.Count}.", nameof(predicted));
        }

        if (expected.Count == 0)
        {
            throw new ArgumentException("Cannot score an empty list of predictions.", nameof(expected));
        }

        int k = classNames.Count;
        var confusion = new ConfusionMatrix(classNames);
        for (int i = 0; i < expected.Count; i++)
        {
            CheckRange(expected[i], k, nameof(expected), i);
            CheckRange(predicted[i], k, nameof(predicted), i);
            confusion.Add(expected[i], predicted[i]);
        }

        long correct = 0;
        var perClassAccuracy = new double[k];
        var perClassF1 = new double[k];
        var f1Present = new List<double>();
        for (int c = 0; c < k; c++)
        {
            long tp = confusion[c, c], support = 0, predictedCount = 0;
            for (int j = 0; j < k; j++)
            {
                support += confusion[c, j];
                predictedCount += confusion[j, c];
            }

            correct += tp;
            perClassAccuracy[c] = support == 0 ? double.NaN : tp / (double)support;
            long fn = support - tp, fp = predictedCount - tp;
            if (support == 0 && predictedCount == 0)
            {
                perClassF1[c] = double.NaN;
                continue;
            }

            long denominator = 2 * tp + fp + fn;
            perClassF1[c] = denominator == 0 ? 0.0 : 2.0 * tp / denominator;
            f1Present.Add(perClassF1[c]);
        }

        return new ClassificationResult(
            correct / (double)expected.Count,
            perClassAccuracy,
            NumpySummation.Mean(f1Present),
            perClassF1,
            confusion);
    }

    private static void CheckRange(int id, int classCount, string name, int position)
    {
        if (id < 0 || id >= classCount)
        {
            throw new ArgumentException($"{name}[{position}] = {id} is not a class id in [0, {classCount}).", name);
        }
    }
}

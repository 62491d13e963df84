namespace SpatialNet.Training.Metrics;

/// <summary>Mean absolute error and root mean squared error of a regression.</summary>
/// <param name="Mae">Mean of |prediction − target|.</param>
/// <param name="Rmse">Square root of the mean of (prediction − target)².</param>
/// <param name="Count">Number of pairs.</param>
public sealed record RegressionResult(double Mae, double Rmse, int Count);

/// <summary>Regression errors (e.g. object counts predicted as numbers).</summary>
public static class RegressionMetrics
{
    /// <summary>Computes MAE and RMSE (means by numpy's pairwise summation).</summary>
    /// <param name="targets">Ground-truth values.</param>
    /// <param name="predictions">Predicted values, same length.</param>
    /// <returns>The errors.</returns>
    /// <exception cref="ArgumentException">When lengths differ or the lists are empty.</exception>
    public static RegressionResult Compute(IReadOnlyList<double> targets, IReadOnlyList<double> predictions)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(predictions);
        if (targets.Count != predictions.Count)
        {
            throw new ArgumentException($"targets has {targets.Count} values but predictions has {predictions.Count}.", nameof(predictions));
        }

        if (targets.Count == 0)
        {
            throw new ArgumentException("Cannot score an empty list of predictions.", nameof(targets));
        }

        var absolute = new double[targets.Count];
        var squared = new double[targets.Count];
        for (int i = 0; i < targets.Count; i++)
        {
            double d = predictions[i] - targets[i];
            absolute[i] = Math.Abs(d);
            squared[i] = d * d;
        }

        return new RegressionResult(NumpySummation.Mean(absolute), Math.Sqrt(NumpySummation.Mean(squared)), targets.Count);
    }
}

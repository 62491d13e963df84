namespace SpatialNet.Training.Metrics;

/// <summary>Per-pixel regression errors over the valid pixels of a split.</summary>
/// <param name="Mae">Mean of |prediction − target| over valid pixels.</param>
/// <param name="Rmse">Square root of the mean of (prediction − target)² over valid pixels.</param>
/// <param name="Count">Number of valid pixels (values, when a pixel holds several).</param>
internal sealed record PixelRegressionResult(double Mae, double Rmse, long Count);

/// <summary>
/// Accumulates absolute and squared errors of per-pixel regression over the images of a split; a pixel is
/// valid where its mask is true (when given) and its target is finite.
/// </summary>
internal sealed class PixelRegressionErrors
{
    private double _absolute;
    private double _squared;

    /// <summary>Number of valid values added so far.</summary>
    public long Count { get; private set; }

    /// <summary>Adds one image's targets and predictions (same length); <paramref name="valid"/>, when not empty, has that length too.</summary>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    public void Add(ReadOnlySpan<float> target, ReadOnlySpan<float> prediction, ReadOnlySpan<bool> valid = default)
    {
        if (target.Length != prediction.Length)
            throw new ArgumentException($"target has {target.Length} values but prediction has {prediction.Length}.", nameof(prediction));
        if (!valid.IsEmpty && valid.Length != target.Length)
            throw new ArgumentException($"valid has {valid.Length} values but target has {target.Length}.", nameof(valid));
        double absolute = 0, squared = 0;
        long n = 0;
        for (int i = 0; i < target.Length; i++)
        {
            if ((!valid.IsEmpty && !valid[i]) || !float.IsFinite(target[i])) continue;
            double d = (double)prediction[i] - target[i];
            absolute += Math.Abs(d);
            squared += d * d;
            n++;
        }

        _absolute += absolute;
        _squared += squared;
        Count += n;
    }

    /// <summary>MAE and RMSE of the accumulated values.</summary>
    /// <exception cref="InvalidOperationException">No valid pixel was added.</exception>
    public PixelRegressionResult Compute() =>
        Count == 0
            ? throw new InvalidOperationException("No valid pixel to score: every target is masked out or not finite.")
            : new PixelRegressionResult(_absolute / Count, Math.Sqrt(_squared / Count), Count);
}

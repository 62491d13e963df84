namespace SpatialNet.Training.Metrics;

/// <summary>
/// Sums and means computed the way numpy 1.x reduces a contiguous float64 array
/// (<c>np.add.reduce</c> / <c>np.mean</c>), so corpus means agree with the Python reference
/// implementations to the last bit rather than being one ulp off.
/// </summary>
/// <remarks>
/// numpy's pairwise summation: fewer than 8 values are added one after another; up to 128 values
/// use eight running accumulators over blocks of 8, combined as
/// ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the remainder sequentially; longer arrays are split at
/// n/2 rounded down to a multiple of 8 and summed recursively. The mean divides that sum by n.
/// </remarks>
internal static class NumpySummation
{
    private const int BlockSize = 128;

    /// <summary>numpy's pairwise sum of <paramref name="values"/>.</summary>
    /// <param name="values">The values, in array order.</param>
    /// <returns>The sum; 0 for an empty list.</returns>
    public static double Sum(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        // numpy starts the reduction from the additive identity 0 and adds the pairwise sum to it.
        return 0.0 + PairwiseSum(values, 0, values.Count);
    }

    /// <summary>numpy's <c>np.mean</c>: the pairwise sum divided by the count.</summary>
    /// <param name="values">The values, in array order.</param>
    /// <returns>The mean.</returns>
    /// <exception cref="ArgumentException">When <paramref name="values"/> is empty.</exception>
    public static double Mean(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("Cannot take the mean of an empty list of values.", nameof(values));
        }

        return Sum(values) / values.Count;
    }

    private static double PairwiseSum(IReadOnlyList<double> a, int start, int n)
    {
        if (n < 8)
        {
            double res = 0.0;
            for (int i = 0; i < n; i++)
            {
                res += a[start + i];
            }

            return res;
        }

        if (n <= BlockSize)
        {
            double r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
            double r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
            int i;
            for (i = 8; i < n - (n % 8); i += 8)
            {
                r0 += a[start + i];
                r1 += a[start + i + 1];
                r2 += a[start + i + 2];
                r3 += a[start + i + 3];
                r4 += a[start + i + 4];
                r5 += a[start + i + 5];
                r6 += a[start + i + 6];
                r7 += a[start + i + 7];
            }

            double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++)
            {
                res += a[start + i];
            }

            return res;
        }

        int n2 = n / 2;
        n2 -= n2 % 8;
        return PairwiseSum(a, start, n2) + PairwiseSum(a, start + n2, n - n2);
    }
}

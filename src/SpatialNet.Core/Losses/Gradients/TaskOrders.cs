namespace SpatialNet.Losses;

/// <summary>
/// Reproducible random numbers of the stochastic strategies (PCGrad's and GradVac's task orders,
/// GradDrop's masks, RLW's draws): functions of (seed, step, index) alone, so a resumed run draws
/// exactly what the uninterrupted one would.
/// </summary>
internal static class TaskOrders
{
    /// <summary>
    /// For each of <paramref name="count"/> tasks, the other tasks in a uniformly random order
    /// (Fisher–Yates driven by SplitMix64 of (seed, step, task)).
    /// </summary>
    public static int[][] Draw(int seed, long step, int count)
    {
        var orders = new int[count][];
        for (int t = 0; t < count; t++)
        {
            ulong state = State(seed, step, t);
            var order = Enumerable.Range(0, count).Where(j => j != t).ToArray();
            for (int i = order.Length - 1; i > 0; i--)
            {
                int k = (int)(SplitMix64(ref state) % (ulong)(i + 1));
                (order[i], order[k]) = (order[k], order[i]);
            }

            orders[t] = order;
        }

        return orders;
    }

    /// <summary><paramref name="count"/> standard normal draws (Box–Muller on SplitMix64 of (seed, step)).</summary>
    public static double[] Normal(int seed, long step, int count)
    {
        ulong state = State(seed, step, 0x5EED);
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = ((SplitMix64(ref state) >> 11) + 1.0) / 9007199254740993.0;   // (0, 1]
            double u2 = (SplitMix64(ref state) >> 11) / 9007199254740992.0;           // [0, 1)
            values[i] = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }

        return values;
    }

    /// <summary>The SplitMix64 state of (seed, step, index).</summary>
    public static ulong State(int seed, long step, long index) =>
        unchecked(((ulong)(uint)seed << 32) ^ (ulong)step * 0x9E3779B97F4A7C15UL ^ (ulong)index * 0xD1B54A32D192ED03UL);

    /// <summary>Next SplitMix64 output (Steele, Lea and Flood 2014).</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        unchecked
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}

/// <summary>Options of a composer that draws random numbers: a configured run seeds them with its own seed unless <c>seed</c> is set.</summary>
internal interface ISeededComposerOptions
{
    /// <summary>The seed of the draws.</summary>
    int Seed { get; set; }
}

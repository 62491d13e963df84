namespace SpatialNet.Losses;

/// <summary>
/// PCGrad (Yu et al., NeurIPS 2020, Algorithm 1) in Gramian form, as TorchJD's PCGradWeighting:
/// g_i^PC = Σ_k C_ik g_k, and projecting off g_j (when g_i^PC·g_j &lt; 0) adds
/// −(C_i·G_:j)/G_jj to C_ij. Weights w = Σ_i C_i. Orders from <see cref="TaskOrders"/>.
/// </summary>
internal sealed class PCGradAggregator(int seed) : GradientAggregator
{
    /// <summary>Seed of the projection orders.</summary>
    public int Seed { get; } = seed;

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var c = Coefficients(step.Gramian, TaskOrders.Draw(Seed, step.Step, step.Count));
        int n = step.Count;
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < n; k++)
                w[k] += c[i, k];
        }

        return w;
    }

    /// <summary>The coefficients C (g_i^PC = Σ_k C_ik g_k) for the given projection orders.</summary>
    public static double[,] Coefficients(double[,] gramian, IReadOnlyList<IReadOnlyList<int>> orders)
    {
        int n = gramian.GetLength(0);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            c[i, i] = 1;
            foreach (int j in orders[i])
            {
                double dot = 0;
                for (int k = 0; k < n; k++)
                    dot += c[i, k] * gramian[k, j];
                if (dot < 0 && gramian[j, j] > 0)
                    c[i, j] -= dot / gramian[j, j];
            }
        }

        return c;
    }
}

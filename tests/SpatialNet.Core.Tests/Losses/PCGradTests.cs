using FluentAssertions;
using SpatialNet.Losses;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

public class PCGradTests
{
    [Fact]
    public void ConflictingGradientsAreProjectedOntoEachOthersNormalPlane()
    {
        // Shared θ = (θ1, θ2); head parameter h used by task 1 only.
        // L1 = 2θ1 + h  → g1 = (2, 0);  L2 = −θ1 + θ2 → g2 = (−1, 1);  g1·g2 = −2 < 0 (conflict).
        // g1' = g1 − (g1·g2/‖g2‖²)·g2 = (2, 0) − (−2/2)·(−1, 1) = (1, 1)
        // g2' = g2 − (g2·g1/‖g1‖²)·g1 = (−1, 1) − (−2/4)·(2, 0) = (0, 1)
        // shared gradient = g1' + g2' = (1, 2)   (the plain sum would be (1, 1)); h keeps ∂L1/∂h = 1.
        using var theta = new Parameter(tensor(new float[] { 0.3f, -0.7f }));
        using var h = new Parameter(tensor(0.5f));
        using var l1 = 2 * theta[0] + h;
        using var l2 = -theta[0] + theta[1];
        var context = new LossContext { SharedParameters = [theta] };

        var loss = new PCGrad().Compose(new Dictionary<string, Tensor> { ["t1"] = l1, ["t2"] = l2 }, context);
        loss.Backward();

        theta.grad!.data<float>().ToArray().Should().Equal(1f, 2f);
        h.grad!.item<float>().Should().Be(1f);
        loss.TotalValue.Should().BeApproximately(2 * 0.3 + 0.5 - 0.3 - 0.7, 1e-6);
    }

    [Fact]
    public void GradientsThatDoNotConflictAreLeftAsTheirSum()
    {
        // g1 = (1, 0), g2 = (1, 1): g1·g2 = 1 ≥ 0 → no projection; sum (2, 1).
        using var theta = new Parameter(tensor(new float[] { 1f, 1f }));
        using var l1 = theta[0] * 1;
        using var l2 = theta[0] + theta[1];
        var context = new LossContext { SharedParameters = [theta] };

        new PCGrad().Compose(new Dictionary<string, Tensor> { ["t1"] = l1, ["t2"] = l2 }, context).Backward();

        theta.grad!.data<float>().ToArray().Should().Equal(2f, 1f);
    }

    [Fact]
    public void TaskWeightsScaleTheGradientsBeforeProjection()
    {
        // λ1 = 0.5: g1 = 0.5·(2, 0) = (1, 0); g2 = (−1, 1); g1·g2 = −1.
        // g1' = (1, 0) − (−1/2)(−1, 1) = (0.5, 0.5);  g2' = (−1, 1) − (−1/1)(1, 0) = (0, 1);  sum (0.5, 1.5)
        using var theta = new Parameter(tensor(new float[] { 0f, 0f }));
        using var l1 = 2 * theta[0];
        using var l2 = -theta[0] + theta[1];
        var context = new LossContext { SharedParameters = [theta] };

        new PCGrad(new Dictionary<string, double> { ["t1"] = 0.5 })
            .Compose(new Dictionary<string, Tensor> { ["t1"] = l1, ["t2"] = l2 }, context).Backward();

        var grad = theta.grad!.data<float>().ToArray();
        grad[0].Should().BeApproximately(0.5f, 1e-6f);
        grad[1].Should().BeApproximately(1.5f, 1e-6f);
    }

    [Fact]
    public void WithoutSharedParametersItSaysWhatItNeeds()
    {
        using var l1 = tensor(1f, requires_grad: true);

        var act = () => new PCGrad().Compose(new Dictionary<string, Tensor> { ["t1"] = l1 }, LossContext.None);

        act.Should().Throw<ArgumentException>().WithMessage("PCGrad needs LossContext.SharedParameters*");
    }

    /// <summary>The reference formula of Yu et al. (Algorithm 1) in double precision, with explicit orders.</summary>
    private static double[] ReferenceSum(double[][] g, int[][] orders)
    {
        static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();
        var sum = new double[g[0].Length];
        for (int t = 0; t < g.Length; t++)
        {
            var pc = (double[])g[t].Clone();
            foreach (int j in orders[t])
            {
                double d = Dot(pc, g[j]);
                if (d < 0)
                    pc = pc.Zip(g[j], (x, y) => x - d / Dot(g[j], g[j]) * y).ToArray();
            }

            for (int i = 0; i < sum.Length; i++)
                sum[i] += pc[i];
        }

        return sum;
    }

    private static double[,] Gramian(double[][] g)
    {
        var m = new double[g.Length, g.Length];
        for (int i = 0; i < g.Length; i++)
            for (int j = 0; j < g.Length; j++)
                m[i, j] = g[i].Zip(g[j], (x, y) => x * y).Sum();
        return m;
    }

    // Rows of C·g: the projected gradients in the Gramian form.
    private static double[][] Project(double[][] g, int[][] orders)
    {
        var c = PCGradAggregator.Coefficients(Gramian(g), orders);
        return Enumerable.Range(0, g.Length).Select(i =>
            Enumerable.Range(0, g[0].Length).Select(e => Enumerable.Range(0, g.Length).Sum(k => c[i, k] * g[k][e])).ToArray()).ToArray();
    }

    [Fact]
    public void ThreeTasks_ProjectInTheGivenOrder_AsComputedByHand()
    {
        // g1 = (1, 0), g2 = (−1, 1), g3 = (−1, −2).  Task 1 against 2 then 3:
        //   g1·g2 = −1 → g1' = (1,0) + ½(−1,1) = (0.5, 0.5);  g1'·g3 = −1.5 → g1'' = (0.5,0.5) + 0.3(−1,−2) = (0.2, −0.1).
        // Against 3 then 2: g1·g3 = −1 → (1,0) + 0.2(−1,−2) = (0.8, −0.4); ·g2 = −1.2 → + 0.6(−1,1) = (0.2, 0.2).
        double[][] g = [[1, 0], [-1, 1], [-1, -2]];
        var f = Project(g, [[1, 2], [0, 2], [0, 1]])[0];
        var r = Project(g, [[2, 1], [0, 2], [0, 1]])[0];

        f[0].Should().BeApproximately(0.2, 1e-12);
        f[1].Should().BeApproximately(-0.1, 1e-12);
        r[0].Should().BeApproximately(0.2, 1e-12);
        r[1].Should().BeApproximately(0.2, 1e-12);
        // The whole sum against the reference formula, for both orders.
        foreach (var orders in new[] { new[] { new[] { 1, 2 }, new[] { 0, 2 }, new[] { 0, 1 } }, new[] { new[] { 2, 1 }, new[] { 2, 0 }, new[] { 1, 0 } } })
        {
            var projected = Project(g, orders);
            var expected = ReferenceSum(g, orders);
            for (int i = 0; i < 2; i++)
                projected.Sum(p => p[i]).Should().BeApproximately(expected[i], 1e-12);
        }
    }

    [Fact]
    public void FourTasks_BackwardEqualsTheReferenceFormulaWithTheOrdersOfThisStep()
    {
        double[][] g = [[2, 0, 1], [-1, 1, 0], [0, -1, -1], [-1, -1, 2]];
        foreach (long step in new long[] { 0, 1, 7 })
        {
            using var scope = NewDisposeScope();
            using var theta = new Parameter(zeros(3));
            // L_t = g_t·θ, so ∇L_t = g_t.
            var losses = Enumerable.Range(0, 4).ToDictionary(t => $"t{t}", t => (theta * tensor(g[t].Select(x => (float)x).ToArray())).sum());
            var context = new LossContext { Step = step, SharedParameters = [theta] };

            new PCGrad(seed: 3).Compose(losses, context).Backward();

            var orders = PCGrad.Orders(3, step, 4);
            orders.Select(o => o.Order()).Should().BeEquivalentTo(new[] { new[] { 1, 2, 3 }, new[] { 0, 2, 3 }, new[] { 0, 1, 3 }, new[] { 0, 1, 2 } },
                o => o.WithStrictOrdering(), "each task is projected against every other task once");
            var expected = ReferenceSum(g, orders);
            var grad = theta.grad!.data<float>().ToArray();
            for (int i = 0; i < 3; i++)
                grad[i].Should().BeApproximately((float)expected[i], 1e-5f, $"step {step}, element {i}");
        }
    }

    [Fact]
    public void Orders_DependOnlyOnSeedAndStep()
    {
        PCGrad.Orders(5, 12, 4).Should().BeEquivalentTo(PCGrad.Orders(5, 12, 4), o => o.WithStrictOrdering());
        // Over many steps every permutation of the three others shows up for a task (uniform shuffles).
        var seen = Enumerable.Range(0, 200).Select(s => string.Join(",", PCGrad.Orders(5, s, 4)[0])).ToHashSet();
        seen.Should().HaveCount(6);
    }

    [Fact]
    public void UnderBFloat16_TheProjectionIsComputedInFloat32()
    {
        // g1 = (1, 1/256 + ...) chosen so that bfloat16 dot products lose the conflict's size:
        // the bfloat16 parameter's gradient must equal the float32 projection rounded once to bfloat16.
        double[][] g = [[1.0, 0.00390625 * 3], [-1.0, 1.0078125], [-0.5, -0.99609375]];
        using var scope = NewDisposeScope();
        using var theta = new Parameter(zeros(2, dtype: ScalarType.BFloat16));
        var losses = Enumerable.Range(0, 3).ToDictionary(t => $"t{t}",
            t => (theta.to(ScalarType.Float32) * tensor(g[t].Select(x => (float)x).ToArray())).sum());
        var context = new LossContext { Step = 4, SharedParameters = [theta] };

        new PCGrad(seed: 1).Compose(losses, context).Backward();

        var expected = ReferenceSum(g, PCGrad.Orders(1, 4, 3));
        var grad = theta.grad!.to(ScalarType.Float32).data<float>().ToArray();
        for (int i = 0; i < 2; i++)
            grad[i].Should().Be(tensor((float)expected[i]).to(ScalarType.BFloat16).to(ScalarType.Float32).item<float>(), $"element {i}");
    }
}

using SpatialNet.Heads;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// The composer of every gradient strategy: the objective is Σ_t λ_t·L_t; in
/// <see cref="ComposedLoss.Backward"/> the shared parameters' gradient becomes the strategy's
/// combination of the per-task gradients g_t = ∇(λ_t·L_t).
/// </summary>
/// <remarks>
/// <para>
/// One backward pass per present task (the graph retained between them) writes g_t into row t of
/// one flat T × P buffer G, P the number of shared elements, in float64 when every shared parameter
/// is float64 and float32 otherwise. The Gramian G·Gᵀ and the loss values come to the host in one
/// copy; the strategy's algebra runs there in double; its update (wᵀG for most) is written into
/// the shared gradients, each in its parameter's dtype. Task-specific parameters (the heads)
/// accumulate their own task's gradient from the same passes; penalties get theirs afterwards.
/// </para>
/// <para>
/// The reported weight of each task (<see cref="ComposedLoss.Weights"/>) is w_t·λ_t, the factor on
/// ∇L_t in the update the strategy applied; it is known once <see cref="ComposedLoss.Backward"/> ran.
/// </para>
/// </remarks>
internal sealed class GradientComposer : ILossComposer
{
    private readonly Dictionary<string, double> lossWeights;

    /// <summary>A composer named <paramref name="name"/> applying <paramref name="aggregator"/>; λ_t from <paramref name="lossWeights"/> (others 1).</summary>
    /// <param name="name">The registered name.</param>
    /// <param name="aggregator">The strategy.</param>
    /// <param name="lossWeights">λ_t by task (others 1).</param>
    /// <param name="representation">
    /// Representation mode (LibMTL's <c>rep_grad</c>): G holds the gradients of the shared representation
    /// (<see cref="LossContext.Representation"/>) instead of the shared parameters, and the update reaches the
    /// encoder through one backward pass from the representation.
    /// </param>
    public GradientComposer(string name, GradientAggregator aggregator, IReadOnlyDictionary<string, double>? lossWeights = null, bool representation = false)
    {
        RepresentationMode = representation;
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(aggregator);
        Name = name;
        Aggregator = aggregator;
        this.lossWeights = (lossWeights ?? new Dictionary<string, double>())
            .ToDictionary(kv => kv.Key, kv => LossChecks.RequireWeight(kv.Key, kv.Value), StringComparer.Ordinal);
    }

    /// <summary>A composer with λ_t from the task catalog (<see cref="TaskDefinition.LossWeight"/>).</summary>
    public GradientComposer(string name, GradientAggregator aggregator, TaskCatalog tasks, bool representation = false)
        : this(name, aggregator, (tasks ?? throw new ArgumentNullException(nameof(tasks))).ToDictionary(t => t.Name, t => t.LossWeight), representation)
    {
    }

    /// <summary>Whether G is taken on the shared representation instead of the shared parameters.</summary>
    public bool RepresentationMode { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The strategy.</summary>
    public GradientAggregator Aggregator { get; }

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, Name);
        ArgumentNullException.ThrowIfNull(context);
        var shared = context.SharedParameters?.Where(p => p.requires_grad).ToArray() ?? [];
        if (RepresentationMode && context.Representation is null)
        {
            throw new ArgumentException(
                $"{Name} with rep_grad needs LossContext.Representation: the shared representation the heads read (MultiTaskTrainable passes the encoder's output).", nameof(context));
        }

        if (shared.Length == 0 && !RepresentationMode)
        {
            throw new ArgumentException(
                $"{Name} needs LossContext.SharedParameters: the trainable parameters every task shares (the encoder's).", nameof(context));
        }

        var used = taskLosses.Keys.ToDictionary(t => t, t => lossWeights.TryGetValue(t, out var w) ? w : 1.0, StringComparer.Ordinal);
        var device = taskLosses.Values.First().device;
        // Reported weights start at λ_t and become w_t·λ_t in Backward (in place, so records taken before then see them).
        var reported = used.ToDictionary(kv => kv.Key, kv => full(Array.Empty<long>(), kv.Value, ScalarType.Float32, device), StringComparer.Ordinal);
        return new Loss(this, WeightedSum.Sum(taskLosses, used), taskLosses, used, reported, shared, context);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> SaveState() => Aggregator.SaveState();

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, double[]> state) => Aggregator.LoadState(state ?? throw new ArgumentNullException(nameof(state)));

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> SaveTensorState() => Aggregator.SaveTensorState();

    /// <inheritdoc />
    public void LoadTensorState(IReadOnlyDictionary<string, Tensor> state) => Aggregator.LoadTensorState(state ?? throw new ArgumentNullException(nameof(state)));

    private sealed class Loss(
        GradientComposer owner,
        Tensor total,
        IReadOnlyDictionary<string, Tensor> taskLosses,
        IReadOnlyDictionary<string, double> lambdas,
        IReadOnlyDictionary<string, Tensor> reported,
        Parameter[] shared,
        LossContext context) : ComposedLoss(total, taskLosses, reported)
    {
        public override void Backward()
        {
            if (owner.RepresentationMode)
            {
                BackwardThroughRepresentation();
                return;
            }

            var tasks = TaskLossTensors.Keys.ToArray();
            var penalties = PenaltyTensors.Values.ToArray();
            double[] weights;
            using (var scope = NewDisposeScope())
            {
                var dtype = shared.All(p => p.dtype == ScalarType.Float64) ? ScalarType.Float64 : ScalarType.Float32;
                var sizes = shared.Select(p => p.numel()).ToArray();
                long total = sizes.Sum();
                var device = shared[0].device;
                Tensor?[] before;
                Tensor jacobian;
                var touched = new bool[shared.Length];
                using (no_grad())
                {
                    // What the shared gradients held before (normally nothing), kept aside while each pass writes g_t alone.
                    before = shared.Select(p => p.grad is { } g ? g.clone() : null).ToArray();
                    jacobian = zeros(tasks.Length, total, dtype: dtype, device: device);
                }

                for (int t = 0; t < tasks.Length; t++)
                {
                    using (no_grad())
                    {
                        foreach (var p in shared)
                            p.grad?.zero_();
                    }

                    (TaskLossTensors[tasks[t]] * lambdas[tasks[t]]).backward(retain_graph: t < tasks.Length - 1 || penalties.Length > 0);
                    using (no_grad())
                    {
                        var row = jacobian[t];
                        long offset = 0;
                        for (int k = 0; k < shared.Length; k++)
                        {
                            if (shared[k].grad is { } g)
                            {
                                row.narrow(0, offset, sizes[k]).copy_(g.reshape(-1));
                                touched[k] = true;
                            }

                            offset += sizes[k];
                        }
                    }
                }

                using (no_grad())
                {
                    var step = HostStep(jacobian, tasks, dtype);
                    var update = owner.Aggregator.Update(jacobian, step, out weights);
                    Check(weights, tasks.Length);

                    long position = 0;
                    for (int k = 0; k < shared.Length; k++)
                    {
                        var p = shared[k];
                        var value = update.narrow(0, position, sizes[k]).view_as(p);
                        position += sizes[k];
                        if (!touched[k] && before[k] is null)
                            continue;   // no task reached it: it keeps no gradient, as after a plain backward
                        if (before[k] is { } b)
                            value = value + b.to(dtype);
                        if (p.grad is { } existing)
                            existing.copy_(value);   // in place: the gradient may be a view into a flat buffer
                        else
                            p.grad = value.to(p.dtype).clone();
                    }
                }
            }

            ReportWeights(tasks.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => weights[p.i] * lambdas[p.t], StringComparer.Ordinal));
            BackwardPenalties(penalties);
        }

        // Representation mode: G = ∂(λ_t L_t)/∂r by T partial passes through the heads only; then one backward of
        // Σ λ_t L_t + r·(u − Σ_t g_t) (the bracket constant): the heads get Σ_t ∇(λ_t L_t), the encoder the VJP of u.
        private void BackwardThroughRepresentation()
        {
            var tasks = TaskLossTensors.Keys.ToArray();
            var penalties = PenaltyTensors.Values.ToArray();
            var representation = context.Representation!;
            double[] weights;
            using (var scope = NewDisposeScope())
            {
                var dtype = representation.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
                var weighted = tasks.Select(t => TaskLossTensors[t] * lambdas[t]).ToArray();
                Tensor jacobian;
                using (no_grad())
                    jacobian = zeros(tasks.Length, representation.numel(), dtype: dtype, device: representation.device);
                for (int t = 0; t < tasks.Length; t++)
                {
                    var g = autograd.grad([weighted[t]], [representation], retain_graph: true)[0];
                    using (no_grad())
                        jacobian[t].copy_(g.reshape(-1));
                }

                Tensor correction;
                using (no_grad())
                {
                    var update = owner.Aggregator.Update(jacobian, HostStep(jacobian, tasks, dtype), out weights);
                    Check(weights, tasks.Length);
                    correction = (update - jacobian.sum(dim: 0)).view_as(representation).to(representation.dtype);
                }

                var objective = weighted.Aggregate((a, b) => a + b) + (representation * correction).sum();
                objective.backward(retain_graph: penalties.Length > 0);
            }

            ReportWeights(tasks.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => weights[p.i] * lambdas[p.t], StringComparer.Ordinal));
            BackwardPenalties(penalties);
        }

        // The Gramian and the losses on the host, in one copy.
        private GradientStep HostStep(Tensor jacobian, string[] tasks, ScalarType dtype)
        {
            int n = tasks.Length;
            var gramian = matmul(jacobian, jacobian.t());
            var losses = stack(tasks.Select(t => TaskLossTensors[t].detach().to(dtype).to(jacobian.device).reshape(1)).ToArray()).reshape(-1);
            var host = cat([gramian.reshape(-1), losses], 0).to(ScalarType.Float64).cpu().data<double>().ToArray();
            var g = new double[n, n];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                    g[i, j] = 0.5 * (host[i * n + j] + host[j * n + i]);
            }

            return new GradientStep
            {
                Tasks = tasks,
                Gramian = g,
                Losses = host[(n * n)..],
                Step = context.Step,
                Epoch = context.Epoch,
                Epsilon = dtype == ScalarType.Float64 ? DenseMath.Float64Epsilon : DenseMath.Float32Epsilon,
            };
        }

        private void Check(double[] weights, int n)
        {
            if (weights.Length != n || !weights.All(double.IsFinite))
            {
                throw new InvalidOperationException(
                    $"{owner.Name} produced weights [{string.Join(", ", weights)}] for {n} tasks; expected {n} finite numbers.");
            }
        }

        private static void BackwardPenalties(Tensor[] penalties)
        {
            if (penalties.Length > 0)
            {
                using var scope = NewDisposeScope();
                // Penalties (the L2 term) are functions of the parameters alone: a pass over their own small graph.
                penalties.Aggregate((a, b) => a + b).backward();
            }
        }
    }
}

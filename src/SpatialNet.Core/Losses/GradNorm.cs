using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// GradNorm: Chen, Badrinarayanan, Lee and Rabinovich, "GradNorm: Gradient Normalization for
/// Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018. Learnable task weights w_t
/// (parameter <c>weights</c>, initialised to 1) are trained so that each task's weighted gradient
/// norm on the last shared layer follows its relative training rate.
/// </summary>
/// <remarks>
/// <para>
/// For the T present tasks: effective weights w̃_t = T·w_t / Σ w (the paper's renormalisation to
/// Σ w̃ = T, built into the weights so it needs no step after the optimizer's), or T·softmax(w)_t
/// with <c>weighting</c> = softmax (LibMTL's form). With W the last
/// shared layer's weight (the last parameter of <see cref="LossContext.SharedParameters"/> with at
/// least two dimensions), G_t = w̃_t·‖∇_W L_t‖₂, Ḡ = mean_t G_t, L̃_t = L_t / L_t(0) (the task's
/// first loss), r_t = L̃_t / mean L̃ and L_grad = Σ_t |G_t − Ḡ·r_t^α| with the target Ḡ·r_t^α held
/// constant (Eq. 2). The network is trained on Σ_t w̃_t·L_t with w̃ held constant; the weights
/// only on L_grad, which is added as penalty <c>"gradnorm"</c>.
/// </para>
/// <para>
/// Cost: one extra partial backward pass per task, from its loss to W. Optimise
/// <see cref="AsModule"/>'s parameters with the model (as for uncertainty weighting).
/// </para>
/// </remarks>
public sealed class GradNorm : nn.Module, ILossComposer
{
    /// <summary>Name of the gradient-norm loss among the penalties.</summary>
    public const string PenaltyName = "gradnorm";

    private readonly Parameter weights;
    private readonly Dictionary<string, int> index;
    private readonly double[] initialLosses;

    /// <summary>Creates one weight per task of <paramref name="tasks"/>.</summary>
    /// <param name="tasks">The tasks.</param>
    /// <param name="alpha">The asymmetry α ≥ 0 (paper: 1.5 for its NYUv2 experiments; 0 pulls every G_t to the mean).</param>
    [ActivatorUtilitiesConstructor]
    public GradNorm(TaskCatalog tasks, double alpha = 1.5) : this(tasks, alpha, LinearWeighting)
    {
    }

    /// <summary>Creates one weight per task of <paramref name="tasks"/>, normalised by <paramref name="weighting"/>.</summary>
    /// <param name="tasks">The tasks.</param>
    /// <param name="alpha">The asymmetry α ≥ 0.</param>
    /// <param name="weighting">
    /// <c>linear</c>: w̃ = T·w/Σw (the paper's renormalisation); <c>softmax</c>: w̃ = T·softmax(w) (LibMTL's form).
    /// </param>
    public GradNorm(TaskCatalog tasks, double alpha, string weighting) : base(nameof(GradNorm))
    {
        if (weighting is not (LinearWeighting or SoftmaxWeighting))
            throw new ArgumentOutOfRangeException(nameof(weighting), weighting, $"loss:gradnorm:weighting must be {LinearWeighting} or {SoftmaxWeighting}; got '{weighting}'.");
        Weighting = weighting;
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0)
            throw new ArgumentException("GradNorm needs at least one task.", nameof(tasks));
        if (!(alpha >= 0) || double.IsInfinity(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "GradNorm α must be a finite number >= 0 (paper: 1.5).");
        Tasks = tasks;
        Alpha = alpha;
        index = tasks.Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        initialLosses = Enumerable.Repeat(double.NaN, tasks.Count).ToArray();
        this.weights = nn.Parameter(ones(tasks.Count));
        RegisterComponents();
    }

    /// <inheritdoc />
    public string Name => "gradnorm";

    /// <summary>Tasks, in the order of <c>weights</c>.</summary>
    public TaskCatalog Tasks { get; }

    /// <summary>The asymmetry α.</summary>
    public double Alpha { get; }

    /// <summary>How the learnable weights become the effective ones: <c>linear</c> or <c>softmax</c>.</summary>
    public string Weighting { get; }

    /// <summary>w̃ = T·w/Σw (Chen et al. 2018).</summary>
    public const string LinearWeighting = "linear";

    /// <summary>w̃ = T·softmax(w) (LibMTL).</summary>
    public const string SoftmaxWeighting = "softmax";

    /// <summary>The learnable weights w_t (before the renormalisation).</summary>
    public Parameter Weights => weights;

    /// <inheritdoc />
    public nn.Module? AsModule() => this;

    /// <summary>The weights of the tasks a batch does not carry (elements of <c>weights</c>).</summary>
    public IReadOnlyDictionary<string, long[]?> UnusedParameters(IReadOnlyCollection<string> presentTasks)
    {
        ArgumentNullException.ThrowIfNull(presentTasks);
        var absent = index.Where(kv => !presentTasks.Contains(kv.Key)).Select(kv => (long)kv.Value).Order().ToArray();
        return absent.Length == 0 ? new Dictionary<string, long[]?>() : new Dictionary<string, long[]?> { ["weights"] = absent };
    }

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, nameof(GradNorm));
        ArgumentNullException.ThrowIfNull(context);
        var shared = context.SharedParameters?.LastOrDefault(p => p.requires_grad && p.dim() >= 2)
            ?? throw new ArgumentException("GradNorm needs LossContext.SharedParameters with a weight matrix: the gradient norms are taken on the last shared layer.", nameof(context));
        var tasks = taskLosses.Keys.ToArray();
        var slots = tasks.Select(t => index.TryGetValue(t, out int i) ? i
            : throw new KeyNotFoundException($"GradNorm has no weight for task '{t}'; it was built for: {string.Join(", ", Tasks.Names)}.")).ToArray();
        int count = tasks.Length;

        // L_t(0): each task's first loss (one read per task over the whole run).
        for (int k = 0; k < count; k++)
        {
            if (double.IsNaN(initialLosses[slots[k]]))
                initialLosses[slots[k]] = taskLosses[tasks[k]].detach().to(ScalarType.Float64).item<double>();
        }

        var device = weights.device;
        Tensor total, gradLoss;
        var reported = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (var scope = NewDisposeScope())
        {
            var w = weights.index_select(0, tensor(slots.Select(s => (long)s).ToArray(), device: device));
            var effective = Weighting == SoftmaxWeighting ? w.softmax(dim: 0) * count : w * (count / w.sum());   // Σ w̃ = T
            var losses = stack(tasks.Select(t => taskLosses[t].to(ScalarType.Float32).reshape(Array.Empty<long>())).ToArray());
            var norms = stack(tasks.Select(t =>
            {
                var gradient = autograd.grad([taskLosses[t]], [shared], retain_graph: true)[0];
                return linalg.vector_norm(gradient.to(ScalarType.Float32));
            }).ToArray()).to(device);
            var g = effective * norms;                                               // G_t = ‖∇_W w̃_t L_t‖
            var initial = tensor(slots.Select(s => (float)initialLosses[s]).ToArray(), device: device);
            var ratio = losses.detach().to(device) / initial;                         // L̃_t
            var rate = ratio / ratio.mean();                                          // r_t
            var target = (g.mean() * rate.pow(Alpha)).detach();
            gradLoss = (g - target).abs().sum().to(losses.device).MoveToOuterDisposeScope();

            var fixedWeights = effective.detach().to(losses.device);
            total = (fixedWeights * losses).sum().MoveToOuterDisposeScope();
            for (int k = 0; k < count; k++)
                reported[tasks[k]] = fixedWeights[k].MoveToOuterDisposeScope();
        }

        return new ComposedLoss(total, taskLosses, reported).AddPenalty(PenaltyName, gradLoss);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> SaveState() =>
        new Dictionary<string, double[]> { ["initial_losses"] = initialLosses.Select(v => double.IsNaN(v) ? -1.0 : v).ToArray() };

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.TryGetValue("initial_losses", out var values) && values.Length == initialLosses.Length)
        {
            for (int i = 0; i < values.Length; i++)
                initialLosses[i] = values[i] < 0 ? double.NaN : values[i];
        }
    }
}

/// <summary>Settings of <see cref="GradNorm"/> (configuration <c>loss:gradnorm</c>).</summary>
public sealed class GradNormOptions : LossComposerOptions
{
    /// <summary>The asymmetry α (Chen et al. 2018, Eq. 2); finite and ≥ 0. Default 1.5 (the paper's NYUv2 setting).</summary>
    public double Alpha { get; set; } = 1.5;

    /// <summary><c>linear</c> (T·w/Σw, the paper's; default) or <c>softmax</c> (T·softmax(w), LibMTL's).</summary>
    public string Weighting { get; set; } = GradNorm.LinearWeighting;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(Alpha >= 0) || double.IsInfinity(Alpha))
            errors.Add(Message(nameof(Alpha), Alpha, "a finite number >= 0 (paper: 1.5)"));
        if (Weighting is not (GradNorm.LinearWeighting or GradNorm.SoftmaxWeighting))
            errors.Add(Message(nameof(Weighting), Weighting, "linear or softmax"));
    }
}

using SpatialNet.Training.Data;
using SpatialNet.Training.Randomness;
using static TorchSharp.torch;

namespace SpatialNet.Training.Transforms;

/// <summary>
/// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) for classification batches: with probability
/// <see cref="Probability"/> a batch is paired with a seeded permutation of itself and λ ~ Beta(α, α) is drawn.
/// Mixup: x' = λ·x + (1 − λ)·x[π]. CutMix: a box of √(1 − λ)·W by √(1 − λ)·H centred uniformly (clipped) takes x[π]'s
/// pixels and λ becomes 1 − box area / (H·W). Targets (class indices) become λ·onehot(y) + (1 − λ)·onehot(y[π]).
/// With both α set, CutMix is chosen with probability ½ (timm's convention). Reseeded per batch.
/// </summary>
public sealed class MixupCutMix : IRandomBatchTransform
{
    private readonly KeyValuePair<string, int>[] _targets;
    private SeededRandom _random;

    /// <summary>Creates the transform.</summary>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="mixupAlpha">Mixup's Beta parameter α, ≥ 0 (0: no mixup).</param>
    /// <param name="cutmixAlpha">CutMix's Beta parameter α, ≥ 0 (0: no CutMix).</param>
    /// <param name="probability">Probability that a batch is mixed, in [0, 1].</param>
    /// <param name="targets">Target entry → number of classes, for every classification target of the batch.</param>
    /// <param name="key">The image entry.</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter out of range.</exception>
    public MixupCutMix(ulong seed, double mixupAlpha, double cutmixAlpha, double probability, IReadOnlyDictionary<string, int> targets, string key = SampleKeys.Image)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (!(mixupAlpha >= 0) || double.IsInfinity(mixupAlpha))
            throw new ArgumentOutOfRangeException(nameof(mixupAlpha), mixupAlpha, "Mixup's alpha must be a finite number >= 0.");
        if (!(cutmixAlpha >= 0) || double.IsInfinity(cutmixAlpha))
            throw new ArgumentOutOfRangeException(nameof(cutmixAlpha), cutmixAlpha, "CutMix's alpha must be a finite number >= 0.");
        if (probability is < 0 or > 1 || double.IsNaN(probability))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "The probability must be in [0, 1].");
        foreach (var (name, classes) in targets)
            if (classes < 1)
                throw new ArgumentOutOfRangeException(nameof(targets), classes, $"Target '{name}' must have at least one class.");
        _random = new SeededRandom(seed);
        _targets = targets.ToArray();
        MixupAlpha = mixupAlpha;
        CutMixAlpha = cutmixAlpha;
        Probability = probability;
        Key = key;
    }

    /// <summary>Mixup's α (0: off).</summary>
    public double MixupAlpha { get; }

    /// <summary>CutMix's α (0: off).</summary>
    public double CutMixAlpha { get; }

    /// <summary>Probability that a batch is mixed.</summary>
    public double Probability { get; }

    /// <summary>The image entry.</summary>
    public string Key { get; }

    /// <summary>The mixed target entries and their class counts.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> Targets => _targets;

    /// <inheritdoc />
    public void Reseed(ulong seed) => _random = new SeededRandom(seed);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The images are not float [B, C, H, W], or a target is not class indices in [0, classes).</exception>
    public void Apply(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch[Key];
        if (!x.is_floating_point() || x.dim() != 4)
            throw new InvalidOperationException($"MixupCutMix: '{Key}' must be float [B, C, H, W] (after ToFloat or Normalize); got {x.dtype} [{string.Join(", ", x.shape)}].");
        // The draws happen in the same order whatever is chosen, so one batch's choice does not shift the next draws.
        bool mix = _random.NextBool(Probability);
        bool cut = CutMixAlpha > 0 && (MixupAlpha == 0 || _random.NextBool(0.5));
        double lambda = SampleBeta(_random, cut ? CutMixAlpha : MixupAlpha);
        int height = (int)x.shape[2], width = (int)x.shape[3];
        int centreX = _random.NextInt(width), centreY = _random.NextInt(height);
        var partner = _random.Permutation((int)x.shape[0]);
        if (!mix || (MixupAlpha == 0 && CutMixAlpha == 0))
            return;
        if (cut)
        {
            var box = CutBox(height, width, lambda, centreY, centreX);
            CutMix(batch, Key, _targets, partner, box);
        }
        else
        {
            Mixup(batch, Key, _targets, partner, lambda);
        }
    }

    /// <summary>x' = λ·x + (1 − λ)·x[π]; targets mixed likewise as soft labels.</summary>
    internal static void Mixup(Batch batch, string key, IReadOnlyList<KeyValuePair<string, int>> targets, int[] partner, double lambda)
    {
        using var scope = NewDisposeScope();
        var x = batch[key];
        var index = tensor(partner.Select(p => (long)p).ToArray()).to(x.device);
        var mixed = x.mul(lambda).add_(x.index_select(0, index).mul(1 - lambda)).MoveToOuterDisposeScope();
        batch.Set(key, mixed);
        MixTargets(batch, targets, index, lambda);
    }

    /// <summary>Pastes x[π]'s pixels inside <paramref name="box"/> (rows [Top, Bottom), columns [Left, Right)) and mixes the targets with λ = 1 − box area / (H·W).</summary>
    internal static void CutMix(Batch batch, string key, IReadOnlyList<KeyValuePair<string, int>> targets, int[] partner, (int Top, int Left, int Bottom, int Right) box)
    {
        using var scope = NewDisposeScope();
        var x = batch[key];
        var index = tensor(partner.Select(p => (long)p).ToArray()).to(x.device);
        int height = (int)x.shape[2], width = (int)x.shape[3];
        int h = box.Bottom - box.Top, w = box.Right - box.Left;
        var mixed = x.clone();
        if (h > 0 && w > 0)
        {
            var patch = x.index_select(0, index).narrow(2, box.Top, h).narrow(3, box.Left, w);
            mixed.narrow(2, box.Top, h).narrow(3, box.Left, w).copy_(patch);
        }
        batch.Set(key, mixed.MoveToOuterDisposeScope());
        double lambda = 1 - (double)Math.Max(h, 0) * Math.Max(w, 0) / ((double)height * width);
        MixTargets(batch, targets, index, lambda);
    }

    /// <summary>
    /// Yun et al.'s box: cut sides ⌊W·√(1 − λ)⌋ and ⌊H·√(1 − λ)⌋ centred at (cy, cx), clipped to the image.
    /// </summary>
    internal static (int Top, int Left, int Bottom, int Right) CutBox(int height, int width, double lambda, int centreY, int centreX)
    {
        double ratio = Math.Sqrt(1 - lambda);
        int cutW = (int)(width * ratio), cutH = (int)(height * ratio);
        return (Math.Clamp(centreY - cutH / 2, 0, height), Math.Clamp(centreX - cutW / 2, 0, width),
            Math.Clamp(centreY + cutH / 2, 0, height), Math.Clamp(centreX + cutW / 2, 0, width));
    }

    /// <summary>Beta(α, α) as X / (X + Y) with X, Y ~ Gamma(α, 1).</summary>
    internal static double SampleBeta(SeededRandom random, double alpha)
    {
        if (alpha <= 0)
            return 1;
        double a = SampleGamma(random, alpha), b = SampleGamma(random, alpha);
        return a + b > 0 ? a / (a + b) : 0.5;
    }

    // Marsaglia and Tsang (2000); for α < 1, Gamma(α + 1)·U^(1/α).
    private static double SampleGamma(SeededRandom random, double alpha)
    {
        if (alpha < 1)
            return SampleGamma(random, alpha + 1) * Math.Pow(1 - random.NextDouble(), 1 / alpha);
        double d = alpha - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z, v;
            do
            {
                // Box–Muller normal draw.
                z = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                v = 1 + c * z;
            }
            while (v <= 0);
            v = v * v * v;
            double u = 1 - random.NextDouble();
            if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v))
                return d * v;
        }
    }

    private static void MixTargets(Batch batch, IReadOnlyList<KeyValuePair<string, int>> targets, Tensor index, double lambda)
    {
        foreach (var (name, classes) in targets)
        {
            var y = batch[name];
            Tensor soft;
            if (y.is_floating_point() && y.dim() == 2 && y.shape[1] == classes)
            {
                soft = y;
            }
            else
            {
                if (y.is_floating_point() || y.dim() != 1)
                    throw new InvalidOperationException($"MixupCutMix: target '{name}' must be class indices [B]; got {y.dtype} [{string.Join(", ", y.shape)}].");
                var labels = y.to(ScalarType.Int64);
                if (labels.numel() > 0 && (labels.min().item<long>() < 0 || labels.max().item<long>() >= classes))
                    throw new InvalidOperationException($"MixupCutMix: target '{name}' has a label outside [0, {classes}) (an ignored label cannot be mixed).");
                soft = nn.functional.one_hot(labels, classes).to(ScalarType.Float32);
            }
            var mixed = soft.mul(lambda).add_(soft.index_select(0, index).mul(1 - lambda));
            batch.Set(name, mixed.MoveToOuterDisposeScope());
        }
    }
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// The Vision Transformer encoder of the SpatialNet-ViT paper (Eq. 1–5; Dosovitskiy et al., 2021),
/// with timm's structure, parameter names and initialisation so that timm checkpoints load unchanged:
/// patch embedding → [class token] + learned position embedding → pre-norm encoder blocks → final
/// norm. <see cref="ForwardTokens"/> returns the normalised tokens [B, N, D] that task heads consume;
/// <c>forward</c> = <see cref="ForwardHead"/>(<see cref="ForwardFeatures"/>(x)), the timm classifier.
/// </summary>
/// <remarks>
/// State-dict names: <c>cls_token</c> [1,1,D] (with a class token), <c>pos_embed</c> [1, prefix+N, D],
/// <c>patch_embed.proj</c>, <c>blocks.{i}.*</c> (see <see cref="EncoderBlock"/>), <c>norm</c> (token
/// pooling) or <c>fc_norm</c> (average pooling; see <see cref="VisionTransformerOptions.FcNorm"/>),
/// <c>head</c> (only with classes). Inputs of another size than configured (any multiple of the patch)
/// run with the position embedding resampled bicubically on the fly (<see cref="PositionEmbeddings"/>).
/// </remarks>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>, IImageEncoder, IHasNoWeightDecay
{
    private readonly PatchEmbedding patch_embed;
    private readonly Parameter? cls_token;
    private readonly Parameter pos_embed;
    private readonly nn.Module<Tensor, Tensor> pos_drop;
    private readonly ModuleList<EncoderBlock> blocks;
    private readonly nn.Module<Tensor, Tensor> norm;
    private readonly nn.Module<Tensor, Tensor> fc_norm;
    private readonly nn.Module<Tensor, Tensor> head_drop;
    // Not readonly: ResetClassifier swaps it (timm's reset_classifier).
    private nn.Module<Tensor, Tensor> head;
    private readonly VisionTransformerOptions options;

    /// <summary>Creates the encoder with timm's initialisation.</summary>
    /// <param name="options">Settings; validated with <see cref="VisionTransformerOptions.Validate"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    /// <exception cref="ResourceLimitException">The parameters alone would not fit in this machine's memory.</exception>
    public VisionTransformer(VisionTransformerOptions options) : base(nameof(VisionTransformer))
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new ArgumentException("Invalid VisionTransformerOptions:" + Environment.NewLine + string.Join(Environment.NewLine, errors), nameof(options));
        MemoryBudget.EnsureFits(ParameterCount(options) * sizeof(float),
            $"VisionTransformerOptions (EmbedDim = {options.EmbedDim}, Depth = {options.Depth}, MlpRatio = {options.MlpRatio}, image {options.ImageHeight}×{options.ImageWidth}, patch {options.PatchSize})",
            "the encoder's float32 parameters");
        this.options = options.Clone();
        int dim = options.EmbedDim;
        var (rows, cols) = options.GridSize;

        patch_embed = new PatchEmbedding(options.InChannels, dim, options.PatchSize);
        NumPrefixTokens = options.ClassToken ? 1 : 0;
        cls_token = options.ClassToken ? new Parameter(zeros(1, 1, dim)) : null;
        pos_embed = new Parameter(zeros(1, NumPrefixTokens + rows * cols, dim));
        pos_drop = Layers.Dropout(options.DropRate);

        // Stochastic depth rises linearly from 0 at the first block to DropPathRate at the last (timm).
        var encoderBlocks = new EncoderBlock[options.Depth];
        for (int i = 0; i < options.Depth; i++)
        {
            double rate = options.Depth > 1 ? options.DropPathRate * i / (options.Depth - 1) : 0.0;
            encoderBlocks[i] = new EncoderBlock(options, rate);
        }
        blocks = nn.ModuleList(encoderBlocks);

        bool useFcNorm = options.UsesFcNorm;
        norm = useFcNorm ? nn.Identity() : Layers.LayerNorm(dim, options.NormEps);
        fc_norm = useFcNorm ? Layers.LayerNorm(dim, options.NormEps) : nn.Identity();
        head_drop = Layers.Dropout(options.DropRate);
        head = CreateHead(options.NumClasses);
        RegisterComponents();
        InitWeights();
    }

    /// <summary>A copy of the options this encoder was built with.</summary>
    public VisionTransformerOptions Options => options.Clone();

    /// <inheritdoc/>
    public int EmbedDim => options.EmbedDim;

    /// <inheritdoc/>
    public int NumPrefixTokens { get; }

    /// <summary>Classes of the built-in head (0 when <c>head</c> is an identity).</summary>
    public int NumClasses { get; private set; }

    /// <inheritdoc/>
    public nn.Module AsModule() => this;

    /// <summary>The parameters <see cref="ForwardTokens"/> uses: all but the built-in classifier <c>head</c>.</summary>
    internal IEnumerable<Parameter> TokenParameters() =>
        named_parameters().Where(p => !p.name.StartsWith(nameof(head) + ".", StringComparison.Ordinal)).Select(p => p.parameter);

    /// <summary>timm's <c>no_weight_decay()</c>: <c>pos_embed</c> and <c>cls_token</c>.</summary>
    public IReadOnlyCollection<string> NoWeightDecay() => cls_token is null ? ["pos_embed"] : ["pos_embed", "cls_token"];

    /// <inheritdoc/>
    /// <exception cref="ResourceLimitException">On the CPU: the batch's attention scores alone would not fit in memory.</exception>
    public Tensor ForwardFeatures(Tensor images)
    {
        var (rows, cols) = patch_embed.GridFor(images);
        if (images.device_type == DeviceType.CPU)
        {
            // Attention holds B × heads × N² scores per block: refuse a batch whose scores alone cannot fit.
            double tokens = (double)rows * cols + NumPrefixTokens;
            MemoryBudget.EnsureFits(images.shape[0] * (double)options.NumHeads * tokens * tokens * pos_embed.ElementSize,
                $"input batch [{string.Join(", ", images.shape)}] ({tokens} tokens, {options.NumHeads} heads)", "the attention scores of one block");
        }
        using var scope = NewDisposeScope();
        var x = Encode(images, rows, cols, null, null);
        return x.MoveToOuterDisposeScope();
    }

    // Patch embedding, prefix tokens, position embedding, the blocks and the final norm; the output of every
    // block in `collect` is added to `outputs` (before the final norm).
    private Tensor Encode(Tensor images, int rows, int cols, ISet<int>? collect, List<Tensor>? outputs)
    {
        var x = patch_embed.call(images);
        var pos = (rows, cols) == options.GridSize
            ? pos_embed
            : PositionEmbeddings.Resample(pos_embed, options.GridSize, (rows, cols), NumPrefixTokens);
        if (cls_token is not null)
            x = cat(new[] { cls_token.expand(x.shape[0], -1, -1), x }, 1);
        x = pos_drop.call(x + pos);
        for (int i = 0; i < blocks.Count; i++)
        {
            x = blocks[i].call(x);
            if (collect is not null && collect.Contains(i)) outputs!.Add(x);
        }
        return norm.call(x);
    }

    /// <summary>
    /// timm's <c>forward_intermediates</c>: the outputs of the blocks <paramref name="indices"/> (0-based; negative
    /// counts from the last block, −1 = last) as patch grids <c>[B, D, H/p, W/p]</c> (prefix tokens dropped), in
    /// the order given, and the tokens of <see cref="ForwardTokens"/>. With <paramref name="normalize"/> each
    /// intermediate goes through the final norm (timm's <c>norm=True</c>; <c>fc_norm</c> in the average-pooling layout).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [−Depth, Depth).</exception>
    public (Tensor Tokens, IReadOnlyList<Tensor> Intermediates) ForwardIntermediates(Tensor images, IReadOnlyList<int> indices, bool normalize = false)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(indices);
        int depth = blocks.Count;
        var resolved = indices.Select(i => i < 0 ? depth + i : i).ToArray();
        for (int k = 0; k < resolved.Length; k++)
            if (resolved[k] < 0 || resolved[k] >= depth)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[k], $"Block index {indices[k]} is outside [-{depth}, {depth}) of this {depth}-block encoder.");
        var (rows, cols) = patch_embed.GridFor(images);
        using var scope = NewDisposeScope();
        var collected = new List<Tensor>();
        var tokens = Encode(images, rows, cols, resolved.ToHashSet(), collected);
        if (options.UsesFcNorm) tokens = fc_norm.call(tokens);
        // Blocks run in order, so `collected` is in block order: pick each requested index from it.
        var order = resolved.Distinct().Order().ToList();
        var grids = resolved.Select(i =>
        {
            var t = collected[order.IndexOf(i)];
            if (normalize) t = options.UsesFcNorm ? fc_norm.call(t) : norm.call(t);
            return t.narrow(1, NumPrefixTokens, t.shape[1] - NumPrefixTokens)
                .transpose(1, 2).reshape(t.shape[0], t.shape[2], rows, cols).MoveToOuterDisposeScope();
        }).ToList();
        return (tokens.MoveToOuterDisposeScope(), grids);
    }

    /// <summary>
    /// The tokens task heads read: <see cref="ForwardFeatures"/>, then <c>fc_norm</c> on every token
    /// when the encoder uses it (its <c>norm</c> is then an identity), so heads always see normalised tokens.
    /// </summary>
    public Tensor ForwardTokens(Tensor images)
    {
        if (!options.UsesFcNorm)
            return ForwardFeatures(images);
        using var scope = NewDisposeScope();
        return fc_norm.call(ForwardFeatures(images)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Pools tokens [B, N, D] into one vector per image [B, D]: the class token, or the mean of the
    /// patch tokens (prefix tokens excluded), per <see cref="VisionTransformerOptions.GlobalPool"/>.
    /// </summary>
    public Tensor Pool(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 3)
            throw new ArgumentException($"Tokens must be [B, N, D]; got [{string.Join(", ", tokens.shape)}].", nameof(tokens));
        return options.GlobalPool == GlobalPool.Token
            ? tokens.select(1, 0)
            : tokens.narrow(1, NumPrefixTokens, tokens.shape[1] - NumPrefixTokens).mean([1L]);
    }

    /// <summary>
    /// timm's <c>forward_head</c>: pool, <c>fc_norm</c>, dropout, then <c>head</c> unless
    /// <paramref name="preLogits"/> is set. Returns [B, classes] (or [B, D]).
    /// </summary>
    public Tensor ForwardHead(Tensor tokens, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var x = head_drop.call(fc_norm.call(Pool(tokens)));
        if (!preLogits) x = head.call(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Classifier logits of images [B, C, H, W]: <c>ForwardHead(ForwardFeatures(images))</c>.</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return ForwardHead(ForwardFeatures(images)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Replaces the built-in classifier <c>head</c> with a fresh one for <paramref name="numClasses"/>
    /// classes (0: identity), initialised as timm's ViT Linear layers, on this encoder's device and dtype.
    /// </summary>
    public void ResetClassifier(int numClasses)
    {
        if (numClasses < 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be 0 or more.");
        var old = head;
        var fresh = CreateHead(numClasses);
        fresh.to(pos_embed.device, pos_embed.dtype);
        if (fresh is Linear linear) TimmInit.Linear(linear);
        register_module(nameof(head), null!);
        register_module(nameof(head), fresh);
        head = fresh;
        options.NumClasses = numClasses;
        old.Dispose();
    }

    /// <summary>
    /// Values per token and channel that one encoder block keeps for the backward pass: 34 bytes at 16
    /// bits in Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
    /// Eq. 1, leaving out the attention-score term (fused attention does not keep the scores).
    /// </summary>
    internal const double ActivationValuesPerBlock = 17;

    /// <summary>
    /// Training memory of a ViT encoder for a batch of <paramref name="batch"/> images: activations
    /// batch × tokens × EmbedDim × Depth × <see cref="ActivationValuesPerBlock"/> × <paramref name="valueBytes"/>,
    /// and parameters with gradients and AdamW's two moments (4 × 4 bytes each, plus a 16-bit weight
    /// and gradient copy under mixed precision).
    /// </summary>
    internal static (double Activations, double Parameters) TrainingBytes(VisionTransformerOptions o, double batch, int valueBytes)
    {
        ArgumentNullException.ThrowIfNull(o);
        double tokens = (double)(o.ImageHeight / Math.Max(1, o.PatchSize)) * (o.ImageWidth / Math.Max(1, o.PatchSize)) + (o.ClassToken ? 1 : 0);
        double activations = batch * tokens * o.EmbedDim * o.Depth * ActivationValuesPerBlock * valueBytes;
        double parameters = ParameterCount(o) * (16 + (valueBytes < sizeof(float) ? 2 * valueBytes : 0));
        return (activations, parameters);
    }

    /// <summary>
    /// Parameter count of a Vision Transformer with <paramref name="o"/> (timm's layout: patch projection,
    /// class token, position embedding, per block two LayerNorms, qkv, projection and the two MLP layers,
    /// final norm, classifier), as a double so that it cannot overflow.
    /// </summary>
    internal static double ParameterCount(VisionTransformerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        double d = o.EmbedDim, h = (double)o.EmbedDim * o.MlpRatio, p = o.PatchSize;
        double tokens = (double)(o.ImageHeight / Math.Max(1, o.PatchSize)) * (o.ImageWidth / Math.Max(1, o.PatchSize)) + (o.ClassToken ? 1 : 0);
        double block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d) + (o.LayerScaleInit is null ? 0 : 2 * d);
        return o.InChannels * p * p * d + d + (o.ClassToken ? d : 0) + tokens * d + o.Depth * block + 2 * d + o.NumClasses * (d + 1);
    }

    private nn.Module<Tensor, Tensor> CreateHead(int numClasses)
    {
        NumClasses = numClasses;
        return numClasses > 0 ? nn.Linear(options.EmbedDim, numClasses) : nn.Identity();
    }

    /// <summary>
    /// timm's <c>init_weights</c> (mode ''): pos_embed trunc-normal(0.02), cls_token N(0, 1e-6), every
    /// Linear trunc-normal(0.02) with zero bias; LayerNorm ones/zeros and the patch-embedding
    /// convolution keep PyTorch's defaults (as in timm).
    /// </summary>
    private void InitWeights()
    {
        using var noGrad = no_grad();
        TimmInit.TruncNormal_(pos_embed, 0.0, 0.02);
        if (cls_token is not null) nn.init.normal_(cls_token, mean: 0.0, std: 1e-6);
        foreach (var (_, module) in named_modules())
            if (module is Linear linear) TimmInit.Linear(linear);
    }
}

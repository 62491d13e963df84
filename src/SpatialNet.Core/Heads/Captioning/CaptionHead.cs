using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Image captioning with a transformer decoder: caption tokens (token plus learned position
/// embeddings) pass through pre-norm <see cref="DecoderBlock"/>s — causal self-attention, cross-attention
/// to every image token, MLP — a final LayerNorm and an output projection to the vocabulary (tied to
/// the token embedding by default).
/// </summary>
/// <remarks>
/// <para>
/// Training (teacher forcing): the batch entry <see cref="CaptionInput"/> holds ids [B, L]
/// (start token, words, end token, padding at the end). <c>forward</c> reads positions 0..L−2 and
/// returns next-token logits [B, L−1, V]; position i sees only positions 0..i (causal mask).
/// Targets are the same ids [B, L] (the head drops the start token) or the shifted ids [B, L−1].
/// Loss: cross-entropy with label smoothing ε over the real target positions (padding ignored):
/// the token-level form of paper Eq. (7).
/// </para>
/// <para>
/// Inference: <see cref="Generate"/> decodes greedily or by beam search (<see cref="SequenceDecoder"/>),
/// incrementally with a key/value cache by default (see its remarks);
/// <see cref="Predict"/> maps teacher-forced logits to their arg-max ids [B, L−1].
/// </para>
/// <para>
/// State-dict names: <c>embed.token_embed.weight</c>, <c>embed.pos_embed</c>, <c>blocks.N.*</c>
/// (<see cref="DecoderBlock"/>), <c>norm</c>, and <c>head.weight</c>/<c>head.bias</c> (untied) or
/// <c>head_bias</c> (tied: the weight is <c>embed.token_embed.weight</c>).
/// </para>
/// </remarks>
public sealed class CaptionHead : TaskHead
{
    private readonly TokenEmbedding embed;
    private readonly ModuleList<DecoderBlock> blocks;
    private readonly nn.Module<Tensor, Tensor> norm;
    private readonly nn.Module<Tensor, Tensor> head_drop;
    private readonly Linear? head;
    private readonly Parameter? head_bias;
    private readonly SequenceDecodingOptions decoding;

    /// <summary>Creates the head.</summary>
    /// <param name="taskName">Task name.</param>
    /// <param name="layout">Token width and prefix count of the image encoder.</param>
    /// <param name="options">Head settings; validated here.</param>
    /// <exception cref="ArgumentException">Invalid options (the message names each option and its allowed values).</exception>
    public CaptionHead(string taskName, TokenLayout layout, CaptionHeadOptions options)
        : base(taskName, Validated(taskName, layout, options))
    {
        int width = options.ResolveEmbedDim(layout.EmbedDim);
        EmbedDim = width;
        VocabSize = options.VocabSize;
        MaxLength = options.MaxLength;
        Special = new SpecialTokens(options.PadId, options.BosId, options.EosId);
        LabelSmoothing = options.LabelSmoothing;
        CaptionInput = options.CaptionInput;
        TiedEmbeddings = options.TieEmbeddings;
        decoding = options.Decoding.WithDefaultMaxLength(options.MaxLength - 1);

        embed = new TokenEmbedding(options.VocabSize, options.MaxLength, width, options.TextDropRate);
        blocks = nn.ModuleList(Enumerable.Range(0, options.Depth)
            .Select(_ => new DecoderBlock(width, options.NumHeads, layout.EmbedDim, options.MlpRatio, options.TextDropRate, options.TextAttnDropRate))
            .ToArray());
        norm = nn.LayerNorm(width, 1e-6);
        head_drop = options.Dropout > 0 ? nn.Dropout(options.Dropout) : nn.Identity();
        if (options.TieEmbeddings)
        {
            head_bias = nn.Parameter(zeros(options.VocabSize));
        }
        else
        {
            head = nn.Linear(width, options.VocabSize);
        }

        RegisterComponents();
        foreach (var block in blocks)
        {
            TextInit.Linears(block);
        }

        if (head is not null)
        {
            TimmInit.Linear(head);
        }
    }

    // Runs before any native module is allocated.
    private static TokenLayout Validated(string taskName, TokenLayout layout, CaptionHeadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid(taskName, layout);
        return layout;
    }

    /// <inheritdoc />
    public override TaskKind Kind => TaskKind.Captioning;

    /// <inheritdoc />
    public override IReadOnlyList<string> InputNames => [CaptionInput];

    /// <summary>Width of the decoder tokens.</summary>
    public int EmbedDim { get; }

    /// <summary>Vocabulary size V.</summary>
    public int VocabSize { get; }

    /// <summary>Longest caption sequence (start and end tokens included).</summary>
    public int MaxLength { get; }

    /// <summary>Padding, start and end ids.</summary>
    public SpecialTokens Special { get; }

    /// <summary>Label smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <summary>Batch entry of the caption ids.</summary>
    public string CaptionInput { get; }

    /// <summary>Whether the output projection shares the token embedding matrix.</summary>
    public bool TiedEmbeddings { get; }

    /// <summary>Default decoding settings (from <see cref="CaptionHeadOptions.Decoding"/>, maximum length filled in).</summary>
    public SequenceDecodingOptions Decoding => decoding.WithDefaultMaxLength(MaxLength - 1);

    /// <summary>Teacher forcing: image tokens [B, N, D] and caption ids [B, L] → next-token logits [B, L−1, V].</summary>
    /// <exception cref="KeyNotFoundException">The batch has no caption entry.</exception>
    /// <exception cref="ArgumentException">Tokens or caption ids of the wrong shape or type.</exception>
    public override Tensor forward(Tensor tokens, IReadOnlyDictionary<string, Tensor> inputs)
    {
        CheckTokens(tokens);
        var ids = GetInput(inputs, CaptionInput);
        if (ids.dim() != 2 || ids.dtype != int64 || ids.shape[0] != tokens.shape[0] || ids.shape[1] < 2 || ids.shape[1] > MaxLength)
        {
            throw new ArgumentException(
                $"Task '{TaskName}': input '{CaptionInput}' must be caption ids [B, L] int64 with B = {tokens.shape[0]} and 2 <= L <= {MaxLength}; got [{string.Join(", ", ids.shape)}] {ids.dtype}.",
                nameof(inputs));
        }

        using var scope = NewDisposeScope();
        return Logits(ids.narrow(1, 0, ids.shape[1] - 1), tokens).MoveToOuterDisposeScope();
    }

    /// <summary>Next-token logits [R, t, V] of prefixes [R, t] attending to image tokens [R, N, D] (causal: position i sees 0..i).</summary>
    private Tensor Logits(Tensor prefix, Tensor memory)
    {
        using var scope = NewDisposeScope();
        var x = embed.call(prefix);
        // Purely causal: SDPA's causal form instead of a boolean mask keeps the fused attention kernels usable.
        foreach (var block in blocks)
        {
            x = block.Forward(x, memory, null, null, causal: true);
        }

        return Project(x).MoveToOuterDisposeScope();
    }

    // Decoder outputs [.., D] → vocabulary logits [.., V]: final norm, dropout, output projection (tied or not).
    private Tensor Project(Tensor x)
    {
        x = head_drop.call(norm.call(x));
        return head is not null ? head.call(x) : nn.functional.linear(x, embed.TokenWeight, head_bias);
    }

    /// <summary>Teacher-forced cross-entropy with label smoothing over the non-padding target positions.</summary>
    /// <param name="predictions">Logits [B, T, V] from <c>forward</c>.</param>
    /// <param name="targets">Caption ids [B, T + 1] (as the input) or [B, T] (already shifted).</param>
    /// <param name="inputs">Not used.</param>
    /// <exception cref="ArgumentException">Targets do not match the predictions.</exception>
    public override Tensor Loss(Tensor predictions, Tensor targets, IReadOnlyDictionary<string, Tensor>? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        long t = predictions.shape[1];
        if (predictions.dim() != 3 || targets.dim() != 2 || targets.shape[0] != predictions.shape[0]
            || targets.is_floating_point() || targets.shape[1] != t && targets.shape[1] != t + 1)
        {
            throw new ArgumentException(
                $"Task '{TaskName}': targets must be caption ids [B, T + 1] or [B, T] (integer) for logits [B, T, V] = [{string.Join(", ", predictions.shape)}]; got [{string.Join(", ", targets.shape)}] {targets.dtype}.",
                nameof(targets));
        }

        using var scope = NewDisposeScope();
        var target = (targets.shape[1] == t + 1 ? targets.narrow(1, 1, t) : targets).to(int64);
        var loss = nn.functional.cross_entropy(predictions.reshape(-1, predictions.shape[2]), target.reshape(-1),
            null, Special.Pad, nn.Reduction.Mean, LabelSmoothing);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Teacher-forced logits [B, T, V] → arg-max ids [B, T].</summary>
    public override Tensor Predict(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return predictions.argmax(-1);
    }

    /// <summary>
    /// Generates a caption per image from image tokens [B, N, D], greedily (beam width 1) or by beam
    /// search, without gradients and with dropout off (the head's training mode is restored afterwards).
    /// </summary>
    /// <remarks>
    /// By default (<see cref="SequenceDecodingOptions.UseCache"/>) decoding is incremental: the
    /// cross-attention keys and values of the image tokens are computed once per layer, each layer keeps
    /// the self-attention keys and values of the tokens decoded so far, and each step runs the decoder
    /// on the newest token only — O(L) position updates per caption instead of O(L²), and no per-step
    /// projection of the N image tokens. Beam search's surviving rows reorder the caches
    /// (<see cref="IncrementalNextTokenLogits"/>). Without the cache every step re-runs the whole prefix
    /// on the image tokens repeated once per beam; both give the same captions up to float rounding.
    /// </remarks>
    /// <param name="tokens">Image tokens [B, N, D] from the encoder.</param>
    /// <param name="options">Decoding settings; null uses <see cref="Decoding"/>. A null maximum length becomes <see cref="MaxLength"/> − 1.</param>
    /// <exception cref="ArgumentException">Invalid decoding settings or tokens.</exception>
    public DecodedSequences Generate(Tensor tokens, SequenceDecodingOptions? options = null)
    {
        CheckTokens(tokens);
        var resolved = (options ?? decoding).WithDefaultMaxLength(MaxLength - 1);
        resolved.ThrowIfInvalid($"Task '{TaskName}': decoding options", MaxLength - 1);
        bool wasTraining = training;
        eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            int batch = (int)tokens.shape[0];
            if (resolved.UseCache)
            {
                using var cache = new DecodingCache(this, tokens);
                return SequenceDecoder.Decode(batch, cache.Step, Special, resolved, tokens.device);
            }

            int beams = resolved.BeamWidth;
            var memory = beams > 1 ? tokens.repeat_interleave(beams, 0) : tokens;
            Tensor Step(Tensor prefix)
            {
                var logits = Logits(prefix, memory);
                return logits.select(1, logits.shape[1] - 1);
            }

            return SequenceDecoder.Decode(batch, Step, Special, resolved, tokens.device);
        }
        finally
        {
            train(wasTraining);
        }
    }

    /// <summary>
    /// The state of one incremental <see cref="Generate"/> call: per decoder layer, the image tokens'
    /// cross-attention keys and values (B rows; the beams of a sample share them) and the
    /// self-attention keys and values of the positions decoded so far (one row per beam).
    /// </summary>
    private sealed class DecodingCache : IDisposable
    {
        private readonly CaptionHead owner;
        private readonly KeyValueCache[] memory;
        private readonly KeyValueCache[] self;

        public DecodingCache(CaptionHead owner, Tensor tokens)
        {
            this.owner = owner;
            memory = new KeyValueCache[owner.blocks.Count];
            self = new KeyValueCache[owner.blocks.Count];
            try
            {
                for (int i = 0; i < memory.Length; i++)
                {
                    memory[i] = owner.blocks[i].MemoryCache(tokens);
                    self[i] = new KeyValueCache();
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>Newest tokens [R] and parent rows → next-token logits [R, V]; every cache grows by one position.</summary>
        public Tensor Step(Tensor newest, Tensor? parents)
        {
            using var scope = NewDisposeScope();
            if (parents is not null)
            {
                foreach (var cache in self)
                {
                    cache.Reorder(parents);
                }
            }

            // The newest token sits at the position after the cached ones (position 0: the start token).
            // The newest ids are the search's own picks (or the start token), always in [0, V): no range check,
            // which would read back from the device at every step.
            var x = owner.embed.Forward(newest.unsqueeze(1), self[0].Length, checkIds: false);
            for (int i = 0; i < self.Length; i++)
            {
                x = owner.blocks[i].ForwardCached(x, self[i], memory[i], null);
            }

            return owner.Project(x).squeeze(1).MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            foreach (var cache in memory.Concat(self))
            {
                cache?.Dispose();
            }
        }
    }
}

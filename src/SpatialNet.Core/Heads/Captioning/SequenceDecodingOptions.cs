using System.Globalization;

namespace SpatialNet.Heads;

/// <summary>Settings of caption generation (<see cref="SequenceDecoder"/>, <see cref="CaptionHead.Generate"/>).</summary>
public sealed class SequenceDecodingOptions
{
    /// <summary>Beams kept per sample; 1 decodes greedily. Default 3.</summary>
    public int BeamWidth { get; set; } = 3;

    /// <summary>
    /// Most tokens generated per sample, the end token included; null (default) lets the caption
    /// head use its position table: <see cref="TextHeadOptions.MaxLength"/> − 1.
    /// </summary>
    public int? MaxLength { get; set; }

    /// <summary>Length penalty of beam search (ignored by greedy decoding). Default <see cref="LengthPenaltyKind.None"/>.</summary>
    public LengthPenaltyKind LengthPenalty { get; set; } = LengthPenaltyKind.None;

    /// <summary>Exponent α of the length penalty; finite and ≥ 0. Default 1.</summary>
    public double LengthPenaltyAlpha { get; set; } = 1.0;

    /// <summary>
    /// When n &gt; 0, no n-gram of this size appears twice in a generated sequence (a token that would
    /// complete an n-gram already generated is forbidden; the start token does not count). 0 (default) turns it off.
    /// </summary>
    public int NoRepeatNgramSize { get; set; }

    /// <summary>
    /// Whether <see cref="CaptionHead.Generate"/> decodes incrementally with a key/value cache (default
    /// true): each step runs the decoder on the newest token only, and the image tokens' cross-attention
    /// keys and values are computed once. false re-runs the decoder on the whole prefix every step —
    /// the same captions up to rounding, slower; kept to check the cache against. <see cref="SequenceDecoder"/>
    /// itself ignores it (the model's form decides).
    /// </summary>
    public bool UseCache { get; set; } = true;

    /// <summary>lp(<paramref name="length"/>) of <see cref="LengthPenaltyKind"/>; <paramref name="length"/> counts generated tokens with the end token.</summary>
    public double Penalty(int length) => LengthPenalty switch
    {
        LengthPenaltyKind.Power => Math.Pow(length, LengthPenaltyAlpha),
        LengthPenaltyKind.Gnmt => Math.Pow((5.0 + length) / 6.0, LengthPenaltyAlpha),
        _ => 1.0,
    };

    /// <summary>A copy whose <see cref="MaxLength"/> is <paramref name="defaultMaxLength"/> when unset.</summary>
    public SequenceDecodingOptions WithDefaultMaxLength(int defaultMaxLength) => new()
    {
        BeamWidth = BeamWidth,
        MaxLength = MaxLength ?? defaultMaxLength,
        LengthPenalty = LengthPenalty,
        LengthPenaltyAlpha = LengthPenaltyAlpha,
        NoRepeatNgramSize = NoRepeatNgramSize,
        UseCache = UseCache,
    };

    /// <summary>Every problem with these settings, each naming the option and its allowed values; empty when valid.</summary>
    /// <param name="owner">Prefix naming where the options live (e.g. "Task 'caption': CaptionHeadOptions.Decoding").</param>
    /// <param name="maxAllowedLength">Largest allowed <see cref="MaxLength"/>, when there is one.</param>
    public IReadOnlyList<string> Validate(string owner = nameof(SequenceDecodingOptions), int? maxAllowedLength = null)
    {
        var errors = new List<string>();
        void Add(string option, object? value, string allowed) =>
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{owner}.{option} = {value ?? "null"} is not allowed; allowed: {allowed}."));

        if (BeamWidth < 1)
        {
            Add(nameof(BeamWidth), BeamWidth, "an integer >= 1 (1 decodes greedily)");
        }

        if (MaxLength is { } max && (max < 1 || max > maxAllowedLength))
        {
            Add(nameof(MaxLength), max, maxAllowedLength is { } limit
                ? string.Create(CultureInfo.InvariantCulture, $"null or an integer from 1 to {limit} (the position table's length minus the start token)")
                : "null or an integer >= 1");
        }

        if (!Enum.IsDefined(LengthPenalty))
        {
            Add(nameof(LengthPenalty), LengthPenalty, "None, Power or Gnmt");
        }

        if (!(LengthPenaltyAlpha >= 0) || double.IsInfinity(LengthPenaltyAlpha))
        {
            Add(nameof(LengthPenaltyAlpha), LengthPenaltyAlpha, "a finite number >= 0");
        }

        if (NoRepeatNgramSize < 0)
        {
            Add(nameof(NoRepeatNgramSize), NoRepeatNgramSize, "0 (off) or an integer >= 1");
        }

        return errors;
    }

    /// <summary>Throws when <see cref="Validate"/> finds a problem.</summary>
    /// <exception cref="ArgumentException">The settings are invalid.</exception>
    public void ThrowIfInvalid(string owner = nameof(SequenceDecodingOptions), int? maxAllowedLength = null)
    {
        var errors = Validate(owner, maxAllowedLength);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors));
        }
    }
}

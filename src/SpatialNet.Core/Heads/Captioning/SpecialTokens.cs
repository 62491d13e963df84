namespace SpatialNet.Heads;

/// <summary>The special token ids of a text vocabulary.</summary>
/// <param name="Pad">Padding id (never generated).</param>
/// <param name="Bos">Start-of-sequence id: the first decoder input (never generated).</param>
/// <param name="Eos">End-of-sequence id: generating it finishes a sequence.</param>
public readonly record struct SpecialTokens(long Pad, long Bos, long Eos);

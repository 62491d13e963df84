namespace SpatialNet.Heads;

/// <summary>
/// How beam search compares finished hypotheses of different lengths. Log-probabilities only
/// fall as a sequence grows, so ranking by their plain sum favours short captions; a length
/// penalty lp(|Y|) divides the sum: score(Y) = log P(Y) / lp(|Y|). |Y| counts the generated tokens
/// including the end token, not the start token.
/// </summary>
public enum LengthPenaltyKind
{
    /// <summary>lp = 1: the plain sum of log-probabilities.</summary>
    None,

    /// <summary>Simple length normalisation lp = |Y|^α; α = 1 ranks by the mean log-probability per token.</summary>
    Power,

    /// <summary>GNMT's penalty (Wu et al., 2016, "Google's Neural Machine Translation System", Eq. 14): lp = ((5 + |Y|) / 6)^α.</summary>
    Gnmt,
}

using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>The result of decoding a batch: one generated sequence per sample.</summary>
public sealed class DecodedSequences
{
    private readonly long[][] tokens;
    private readonly bool[] ended;
    private readonly double[] logProbabilities;
    private readonly double[] scores;

    /// <summary>Creates the result.</summary>
    /// <param name="tokens">Generated ids per sample, start and end tokens excluded.</param>
    /// <param name="ended">Whether each sequence ended with the end token (else it hit the length limit).</param>
    /// <param name="logProbabilities">Sum of the log-probabilities of each sequence's generated tokens (end token included).</param>
    /// <param name="scores">The log-probabilities divided by the length penalty (what beam search ranked by).</param>
    public DecodedSequences(long[][] tokens, bool[] ended, double[] logProbabilities, double[] scores)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(ended);
        ArgumentNullException.ThrowIfNull(logProbabilities);
        ArgumentNullException.ThrowIfNull(scores);
        if (ended.Length != tokens.Length || logProbabilities.Length != tokens.Length || scores.Length != tokens.Length)
        {
            throw new ArgumentException("tokens, ended, logProbabilities and scores must have one entry per sample.");
        }

        this.tokens = tokens;
        this.ended = ended;
        this.logProbabilities = logProbabilities;
        this.scores = scores;
    }

    /// <summary>Number of samples.</summary>
    public int Count => tokens.Length;

    /// <summary>Generated ids per sample, start and end tokens excluded.</summary>
    public IReadOnlyList<IReadOnlyList<long>> Tokens => tokens;

    /// <summary>Whether each sequence ended with the end token (false: stopped at the length limit).</summary>
    public IReadOnlyList<bool> Ended => ended;

    /// <summary>Σ log p of each sequence's generated tokens, the end token included.</summary>
    public IReadOnlyList<double> LogProbabilities => logProbabilities;

    /// <summary>Log-probabilities divided by the length penalty lp(|Y|) (equal to them without a penalty).</summary>
    public IReadOnlyList<double> Scores => scores;

    /// <summary>The sequences as ids [B, T] (T = the longest, at least 1), padded with <paramref name="padId"/> at the end.</summary>
    public Tensor ToTensor(long padId, Device? device = null)
    {
        int width = Math.Max(1, tokens.Length == 0 ? 1 : tokens.Max(t => t.Length));
        var flat = new long[tokens.Length * width];
        Array.Fill(flat, padId);
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i].CopyTo(flat, i * width);
        }

        return tensor(flat, [tokens.Length, width], dtype: int64, device: device);
    }
}
